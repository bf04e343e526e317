package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.CachedLookup;
import io.strata.storage.Lookup;

/**
 * The classic cache races, made deterministic: a read misses, reads storage, and is held just before
 * it stores what it read; a write is acknowledged meanwhile; then the fill resumes. What the fill read
 * is older than the write and must not land in the cache, however long the fill was held, and even
 * when nothing the writer left in Redis survived ({@link FillLease}).
 */
@QuarkusTest
class FillRaceTest extends ProtocolTest {

    @Test
    void aFillHeldAcrossAWriteIsDiscarded() {
        String c = newCollection("race");
        long v1 = put(c, "doc", "{\"v\":1}");
        PausedFill fill = new PausedFill(hooks, strict, c, "doc");
        long v2 = put(c, "doc", "{\"v\":2}");
        CachedLookup racing = fill.resume();
        // the racing read began before the write and may answer v1, but must not store it
        assertEquals(v1, racing.lookup().version());
        assertEquals(miss(false), racing.status());
        assertNull(redis.entry(c, "doc"), "the older fill did not land");
        CachedLookup next = read(c, "doc");
        assertEquals(miss(true), next.status());
        assertEquals(v2, next.lookup().version());
        assertEquals("{\"v\":2}", body(next));
    }

    @Test
    void aFillHeldAcrossADeleteCannotBringTheDocumentBack() {
        String c = newCollection("race");
        long v1 = put(c, "doc", "{\"alive\":true}");
        PausedFill fill = new PausedFill(hooks, strict, c, "doc");
        long deleted = delete(c, "doc");
        CachedLookup racing = fill.resume();
        assertEquals(v1, racing.lookup().version());
        assertEquals(miss(false), racing.status());
        assertNull(redis.entry(c, "doc"), "the older fill did not land");
        assertEquals(new Lookup.Absent(c, "doc", deleted), read(c, "doc").lookup());
    }

    @Test
    void aNegativeFillHeldAcrossACreateCannotHideIt() {
        String c = newCollection("race");
        PausedFill fill = new PausedFill(hooks, strict, c, "new");
        long v = put(c, "new", "{\"created\":true}");
        CachedLookup racing = fill.resume();
        assertEquals(new Lookup.Absent(c, "new", 0), racing.lookup());
        assertEquals(miss(false), racing.status());
        assertNull(redis.entry(c, "new"), "the negative fill did not land");
        CachedLookup next = read(c, "new");
        assertEquals(v, next.lookup().version());
        assertFalse(redis.entry(c, "new").negative());
    }

    @Test
    void aFillHeldAcrossAWriteIsDiscardedEvenAfterANewerEntryCameAndWent() {
        String c = newCollection("race");
        put(c, "doc", "{\"v\":1}");
        PausedFill fill = new PausedFill(hooks, strict, c, "doc");
        long v2 = put(c, "doc", "{\"v\":2}");
        redis.fillAsPeer(c, "doc", v2, "{\"v\":2}"); // another instance filled the new version...
        redis.evict(c, "doc"); // ...and it was evicted: correctness may not rely on anything the writer left
        assertEquals(miss(false), fill.resume().status());
        assertNull(redis.entry(c, "doc"), "the older fill was discarded");
        CachedLookup next = read(c, "doc");
        assertEquals(miss(true), next.status());
        assertEquals(v2, next.lookup().version());
    }

    @Test
    void aNegativeFillHeldAcrossACreateIsDiscardedEvenAfterTheNewEntryCameAndWent() {
        String c = newCollection("race");
        PausedFill fill = new PausedFill(hooks, strict, c, "n");
        long v = put(c, "n", "{}");
        redis.fillAsPeer(c, "n", v, "{}");
        redis.evict(c, "n");
        CachedLookup racing = fill.resume();
        assertEquals(new Lookup.Absent(c, "n", 0), racing.lookup());
        assertEquals(miss(false), racing.status());
        assertNull(redis.entry(c, "n"));
        assertEquals(v, read(c, "n").lookup().version());
    }

    @Test
    void aFillSlowerThanItsTokensLifetimeIsDiscarded() {
        String c = newCollection("race");
        long v = put(c, "slow", "{}");
        PausedFill fill = new PausedFill(hooks, strict, c, "slow");
        assertTrue(redis.hasFillToken(c, "slow"), "the held fill has its token");
        // the token expires (strata.cache.fill-token-ttl, 3 s): nothing may be stored late
        Awaitility.await().atMost(WAIT).until(() -> !redis.hasFillToken(c, "slow"));
        assertEquals(miss(false), fill.resume().status());
        assertNull(redis.entry(c, "slow"));
        assertEquals(v, read(c, "slow").lookup().version());
    }
}
