package io.strata.cache.redis;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.vertx.redis.client.impl.types.ErrorType;

/** What the guard takes for Redis failing, and what for Redis's answer to the command. */
class MasterGuardTest {

    @Test
    void errorRepliesAreAnswersButAClosedConnectionIsNot() {
        for (String reply : List.of(
                "NOSCRIPT No matching script",
                "WRONGTYPE Operation against a key",
                "MOVED 3999 127.0.0.1:6381",
                "OOM command not allowed when used memory > 'maxmemory'")) {
            assertFalse(MasterGuard.isAvailabilityFailure(ErrorType.create(reply)), reply);
        }
        // the client's own error for the commands in flight on a connection that closed
        assertTrue(MasterGuard.isAvailabilityFailure(ErrorType.create("CONNECTION_CLOSED")));
        for (String reply : List.of(
                "CLUSTERDOWN The cluster is down",
                "TRYAGAIN Multiple keys request",
                "LOADING Redis is loading",
                "MASTERDOWN Link with MASTER is down")) {
            assertTrue(MasterGuard.isAvailabilityFailure(ErrorType.create(reply)), reply);
        }
        assertTrue(MasterGuard.isAvailabilityFailure(new java.net.ConnectException("Connection refused")));
    }
}
