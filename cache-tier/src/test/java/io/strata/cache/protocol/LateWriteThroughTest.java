package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheStatus;
import io.strata.cache.CachedLookup;
import io.strata.storage.Precondition;
import io.strata.storage.WriteResult;

/**
 * A write-through that reaches Redis late, after a newer write's: its writer paused between its
 * commit and its write-through (a hook holds it there), or its command was queued. A write-through
 * only updates an entry that is older than its version and never creates one, so it can neither
 * replace the newer version nor bring an older one back once the entry is gone ({@link WriteThrough}).
 */
@QuarkusTest
class LateWriteThroughTest extends ProtocolTest {

    /** A write of the document whose write-through is held after its commit until it is released. */
    private final class HeldWrite {
        final CompletableFuture<Void> committed = new CompletableFuture<>();
        final CompletableFuture<Void> release = new CompletableFuture<>();
        final CompletableFuture<WriteResult> write;

        HeldWrite(String collection, String id, String json) {
            hooks.beforeWriteThrough((c, i) -> {
                if (!c.equals(collection) || !i.equals(id) || !committed.complete(null)) {
                    return Uni.createFrom().voidItem();
                }
                return Uni.createFrom().completionStage(release);
            });
            write = cache.put(collection, id, utf8(json), Precondition.NONE).subscribeAsCompletionStage();
            committed.orTimeout(10, TimeUnit.SECONDS).join();
        }

        long finish() {
            release.complete(null);
            return write.orTimeout(10, TimeUnit.SECONDS).join().version();
        }
    }

    @Test
    void aLateWriteThroughAfterANewerWriteAndAnEvictionLeavesNoEntry() {
        String c = newCollection("late");
        putCached(c, "doc", "{\"v\":0}");
        HeldWrite older = new HeldWrite(c, "doc", "{\"v\":1}");
        long v2 = put(c, "doc", "{\"v\":2}");
        assertEquals(v2, redis.entry(c, "doc").version(), "the newer write brought the entry to its version");
        redis.evict(c, "doc"); // eviction (or an invalidation) removes it
        long v1 = older.finish();
        assertTrue(v1 < v2);
        assertNull(redis.entry(c, "doc"), "the late write-through of the older version created nothing");
        CachedLookup next = read(c, "doc");
        assertEquals(miss(true), next.status());
        assertEquals(v2, next.lookup().version());
        assertEquals("{\"v\":2}", body(next));
    }

    @Test
    void aLateWriteThroughNeverReplacesANewerCachedVersion() {
        String c = newCollection("late");
        putCached(c, "doc", "{\"v\":0}");
        HeldWrite older = new HeldWrite(c, "doc", "{\"v\":1}");
        long v2 = put(c, "doc", "{\"v\":2}");
        long v1 = older.finish();
        assertTrue(v1 < v2);
        assertEquals(v2, redis.entry(c, "doc").version());
        CachedLookup next = read(c, "doc");
        assertEquals(CacheStatus.HIT, next.status());
        assertEquals("{\"v\":2}", body(next));
    }
}
