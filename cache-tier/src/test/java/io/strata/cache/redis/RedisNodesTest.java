package io.strata.cache.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.vertx.redis.client.RedisOptions;

/** How commands find their master: node addresses with the configured credentials, and redirects recognised. */
class RedisNodesTest {

    @Test
    void aNodeIsReachedWithTheSchemeAndCredentialsOfTheConfiguredHosts() {
        RedisOptions tls = new RedisOptions().setEndpoints(List.of("rediss://strata:secret@redis-0.redis:6379"));
        assertEquals("rediss://strata:secret@10.0.0.7:6380", RedisNodes.endpoint(tls, "10.0.0.7:6380"));
        // an ACL user named in the hosts and its password given apart (quarkus.redis.password)
        RedisOptions user = new RedisOptions()
                .setEndpoints(List.of("redis://strata@redis-0:6379"))
                .setPassword("pw");
        assertEquals("redis://strata:pw@redis-1:6379", RedisNodes.endpoint(user, "redis-1:6379"));
        RedisOptions plain =
                new RedisOptions().setEndpoints(List.of("redis://redis-0:6379")).setPassword("pw");
        assertEquals(
                "redis://redis-1:6379",
                RedisNodes.endpoint(plain, "redis-1:6379"),
                "the password stays in the options");
        assertNull(RedisNodes.endpoint(new RedisOptions().setEndpoints(List.of()), "redis-1:6379"));
    }

    @Test
    void redirectsAreRecognisedAlsoInsidePipelines() {
        for (String message : List.of(
                "MOVED 3999 127.0.0.1:6381",
                "ASK 3999 127.0.0.1:6381",
                "TRYAGAIN Multiple keys request",
                "CLUSTERDOWN The cluster is down",
                "ERR [1] MOVED 3999 127.0.0.1:6381",
                "ERR [0] CLUSTERDOWN Hash slot not served")) {
            assertTrue(RedisNodes.redirected(new RuntimeException(message)), message);
        }
        for (String message :
                List.of("NOSCRIPT No matching script", "ERR [1] NOSCRIPT No matching script", "WRONGTYPE")) {
            assertFalse(RedisNodes.redirected(new RuntimeException(message)), message);
        }
    }
}
