package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import jakarta.inject.Inject;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.WriteNotVisibleException;
import io.strata.storage.ChangeLog.Change;

/**
 * One deadline bounds what a write does to reach the cache after its commit ({@link WriteThrough}):
 * past it, no further invalidation is sent and the wait for another instance's repair ends as
 * {@link WriteNotVisibleException}, so a write is answered by its deadline (plus one near-cache lease)
 * however the steps before it went. What the write owes the cache is still repaired afterwards; before
 * the deadline, the repair wait ends as soon as this instance's own invalidation reaches Redis.
 */
@QuarkusTest
class WriteDeadlineTest extends ProtocolTest {

    @Inject
    Invalidations invalidations;

    @Test
    void anInvalidationIsSentOnlyBeforeTheWritesDeadline() {
        String c = newCollection("deadline");
        putCached(c, "past", "{\"n\":1}");
        boolean late = invalidations
                .invalidateNow(c, "past", "-", System.nanoTime() - 1)
                .await()
                .atMost(WAIT);
        assertFalse(late, "past the deadline, nothing reached Redis");
        assertNotNull(redis.entry(c, "past"), "and the entry is untouched");

        // before the deadline the same call is sent (a quick attempt: tried again if this machine is slow)
        Awaitility.await()
                .atMost(WAIT)
                .until(() -> invalidations
                        .invalidateNow(c, "past", "-", System.nanoTime() + WAIT.toNanos())
                        .await()
                        .atMost(WAIT));
        assertNull(redis.entry(c, "past"));
    }

    @Test
    void aRepairWaitPastTheDeadlineEndsAsNotVisibleAndTheRepairStillHappens() {
        String c = newCollection("deadline");
        long version = putCached(c, "owed", "{\"n\":1}");
        Change change = new Change(c, "owed", version);
        Throwable failure = invalidations
                .awaitRepair(change, System.nanoTime() - 1)
                .onItemOrFailure()
                .transform((ignored, error) -> error)
                .await()
                .atMost(WAIT);
        assertInstanceOf(WriteNotVisibleException.class, failure, "the write is answered as not visible");
        // the document stays owed: this instance's sweep removes its keys
        Awaitility.await().atMost(WAIT).until(() -> redis.entry(c, "owed") == null);
        Awaitility.await().atMost(WAIT).until(() -> cache.pendingInvalidations() == 0);
    }

    @Test
    void aRepairWaitEndsWhenItsOwnInvalidationReachesRedis() {
        String c = newCollection("deadline");
        long version = putCached(c, "here", "{\"n\":1}");
        invalidations
                .awaitRepair(new Change(c, "here", version), System.nanoTime() + WAIT.toNanos())
                .await()
                .atMost(WAIT);
        assertNull(redis.entry(c, "here"), "the write is acknowledged only with its keys gone");
    }
}
