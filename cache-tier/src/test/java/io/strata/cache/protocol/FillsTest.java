package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.CacheStatus;
import io.strata.cache.CacheStatus.Forward;
import io.strata.cache.CachedLookup;
import io.strata.cache.ReadOptions;
import io.strata.storage.Lookup;

/**
 * Strict reads that miss: they take the document's fill token, read storage and store what they read
 * ({@link FillLease}); the entries they leave; and readers that find a fill under way wait for it
 * instead of reading storage.
 */
@QuarkusTest
class FillsTest extends ProtocolTest {

    @Test
    void aMissReadsStorageAndStoresWhatItRead() {
        String c = newCollection("fill");
        long v = put(c, "m", "{\"m\":true}");
        long reads = storageQueries("read");
        CachedLookup read = read(c, "m");
        assertEquals(miss(true), read.status());
        assertEquals(reads + 1, storageQueries("read"));
        assertEquals(v, read.lookup().version());
        assertEquals("{\"m\":true}", body(read));
        RedisProbe.Entry filled = redis.entry(c, "m");
        assertEquals(v, filled.version());
        assertEquals("{\"m\":true}", filled.body());
        assertFalse(redis.hasFillToken(c, "m"), "a fill that stored gives its token up");
    }

    @Test
    void aFilledEntryAnswersTheNextReadAsAHit() {
        String c = newCollection("fill");
        long v = putCached(c, "h", "{\"h\":1}");
        long reads = storageQueries("read");
        CachedLookup hit = read(c, "h");
        assertEquals(CacheStatus.HIT, hit.status());
        assertEquals(reads, storageQueries("read"), "a hit reads no storage");
        assertEquals(v, hit.lookup().version());
        assertEquals("{\"h\":1}", body(hit));
    }

    @Test
    void anEntryIsFreshForTheTtlWithJitterAndItsKeyOutlivesThatByTheStaleWindow() {
        String c = newCollection("fill");
        putCached(c, "t", "{}");
        RedisProbe.Entry entry = redis.entry(c, "t");
        long fresh = entry.freshUntil() - System.currentTimeMillis();
        assertTrue(fresh > 3_500_000 && fresh <= 3_960_000, "fresh for 1 h plus up to 10 % jitter: " + fresh);
        long staleWindow = entry.ttlMillis() - fresh;
        assertTrue(
                staleWindow > 590_000 && staleWindow <= 610_000,
                "the key lives 10 min (stale-if-error) past freshness: " + staleWindow);
    }

    @Test
    void anAbsentDocumentIsCachedAsAShortLivedNegativeEntryOfVersionZero() {
        String c = newCollection("fill");
        CachedLookup read = read(c, "ghost");
        assertEquals(miss(true), read.status());
        assertEquals(new Lookup.Absent(c, "ghost", 0), read.lookup());
        RedisProbe.Entry negative = redis.entry(c, "ghost");
        assertTrue(negative.negative());
        assertEquals(0, negative.version(), "a document that never existed has version 0");
        long fresh = negative.freshUntil() - System.currentTimeMillis();
        assertTrue(fresh > 0 && fresh <= 30_000, "a negative entry is fresh for 30 s: " + fresh);
        CachedLookup again = read(c, "ghost");
        assertEquals(CacheStatus.HIT, again.status());
        assertEquals(new Lookup.Absent(c, "ghost", 0), again.lookup());
    }

    @Test
    void aReadArrivingDuringAFillInThisInstanceWaitsForItAndAnswersFromTheCache() {
        String c = newCollection("fill");
        long v = put(c, "d", "{\"d\":1}");
        double coalesced = count("strata.cache.coalesced_loads");
        PausedFill first = new PausedFill(hooks, strict, c, "d");
        CompletableFuture<CachedLookup> second =
                strict.read(c, "d", ReadOptions.DEFAULT).subscribeAsCompletionStage();
        Awaitility.await().atMost(WAIT).until(() -> count("strata.cache.coalesced_loads") > coalesced);
        assertFalse(second.isDone(), "the second read waits for the fill under way");
        assertEquals(miss(true), first.resume().status());
        CachedLookup collapsed = second.orTimeout(10, TimeUnit.SECONDS).join();
        assertEquals(CacheStatus.collapsed(Forward.MISS), collapsed.status());
        assertEquals(v, collapsed.lookup().version());
    }

    @Test
    void aReaderThatFindsAnotherInstancesFillUnderWayWaitsForItsEntry() {
        String c = newCollection("fill");
        long v = put(c, "p", "{\"p\":1}");
        assertTrue(redis.takeFillToken(c, "p", Duration.ofSeconds(3)), "another instance's reader holds the lease");
        double waits = count("strata.cache.lease_waits");
        CompletableFuture<CachedLookup> read =
                strict.read(c, "p", ReadOptions.DEFAULT).subscribeAsCompletionStage();
        Awaitility.await().atMost(WAIT).until(() -> count("strata.cache.lease_waits") > waits);
        redis.fillAsPeer(c, "p", v, "{\"p\":1}");
        CachedLookup collapsed = read.orTimeout(10, TimeUnit.SECONDS).join();
        assertEquals(CacheStatus.collapsed(Forward.MISS), collapsed.status());
        assertEquals(v, collapsed.lookup().version());
    }

    @Test
    void aReaderWhoseLeaseHolderGaveUpTakesTheLeaseAndFills() {
        String c = newCollection("fill");
        long v = put(c, "g", "{\"g\":1}");
        assertTrue(redis.takeFillToken(c, "g", Duration.ofSeconds(3)));
        double waits = count("strata.cache.lease_waits");
        CompletableFuture<CachedLookup> read =
                strict.read(c, "g", ReadOptions.DEFAULT).subscribeAsCompletionStage();
        Awaitility.await().atMost(WAIT).until(() -> count("strata.cache.lease_waits") > waits);
        redis.dropFillToken(c, "g"); // the holder could not read storage and gave the lease back
        CachedLookup filled = read.orTimeout(10, TimeUnit.SECONDS).join();
        assertEquals(miss(true), filled.status());
        assertEquals(v, redis.entry(c, "g").version());
    }

    @Test
    void aReaderWaitsForAnotherInstancesFillNoLongerThanTheLeaseWaitThenReadsStorageWithoutStoring() {
        String c = newCollection("fill");
        long v = put(c, "s", "{\"s\":1}");
        // a holder that never fills: its lease outlasts the waiter's patience (strata.cache.lease-wait, 3 s)
        assertTrue(redis.takeFillToken(c, "s", Duration.ofSeconds(30)));
        CachedLookup read = read(c, "s");
        assertEquals(miss(false), read.status());
        assertEquals(v, read.lookup().version());
        assertNull(redis.entry(c, "s"), "only the lease holder may fill");
        redis.dropFillToken(c, "s");
    }
}
