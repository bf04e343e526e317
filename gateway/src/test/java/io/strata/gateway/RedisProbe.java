package io.strata.gateway;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * Changes the cache's Redis keys directly, as eviction or another instance would, for tests of what
 * the API answers then. (The cache protocol itself is tested in cache-tier, with a probe of its own.)
 * The key names are part of the cache protocol: {@code strata:2:{collection/id}:e} (entry).
 */
@ApplicationScoped
public class RedisProbe {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final Redis redis;

    RedisProbe(Redis redis) {
        this.redis = redis;
    }

    static String entryKey(String collection, String id) {
        return "strata:2:{" + collection + "/" + id + "}:e";
    }

    /** Removes a document's entry, as eviction or a Redis restart would. */
    public void evict(String collection, String id) {
        send(Request.cmd(Command.DEL).arg(entryKey(collection, id)));
    }

    /** Stores an entry as another instance's write-through would, without telling any near cache. */
    public void store(String collection, String id, long version, String body) {
        send(Request.cmd(Command.HSET)
                .arg(entryKey(collection, id))
                .arg("v")
                .arg(String.valueOf(version))
                .arg("b")
                .arg(body)
                .arg("f")
                .arg(String.valueOf(System.currentTimeMillis() + 3_600_000)));
    }

    /** Publishes a near-cache invalidation of the document as another instance's write-through does. */
    public void announce(String collection, String id) {
        send(Request.cmd(Command.PUBLISH)
                .arg("strata:2:{near-invalidations}")
                .arg(entryKey(collection, id) + " " + System.currentTimeMillis() + " peer0000 -"));
    }

    private Response send(Request request) {
        return redis.send(request).await().atMost(TIMEOUT);
    }
}
