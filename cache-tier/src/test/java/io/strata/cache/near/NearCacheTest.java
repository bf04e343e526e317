package io.strata.cache.near;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.runtime.configuration.MemorySize;
import io.strata.cache.CacheConfig;
import io.strata.storage.Document;
import io.strata.storage.Lookup;

/** The near cache's bookkeeping: what it holds, for how long, and what an invalidation excludes. */
class NearCacheTest {

    /** A clock the test moves: no test waits for time to pass. */
    private static final class TestClock implements NearCache.Clock {
        private long nanos = 1_000_000_000L;
        private long millis = 1_700_000_000_000L;

        /** A new instant, one nanosecond after the last. */
        long tick() {
            return ++nanos;
        }

        void advanceMillis(long ms) {
            nanos += ms * 1_000_000L;
            millis += ms;
        }

        public long nanoTime() {
            return nanos;
        }

        public long epochMillis() {
            return millis;
        }
    }

    private final TestClock clock = new TestClock();

    private static CacheConfig.Near config(Duration ttl, long maxBody) {
        return new CacheConfig.Near() {
            public boolean enabled() {
                return true;
            }

            public Duration ttl() {
                return ttl;
            }

            public boolean strictReads() {
                return true;
            }

            public Duration lease() {
                return Duration.ofSeconds(2);
            }

            public MemorySize maxBytes() {
                return new MemorySize(java.math.BigInteger.valueOf(1 << 20));
            }

            public MemorySize maxBodySize() {
                return new MemorySize(java.math.BigInteger.valueOf(maxBody));
            }

            public Map<String, Duration> defaultMaxStale() {
                return Map.of();
            }
        };
    }

    private static final long FRESH = Long.MAX_VALUE;

    private static Lookup found(long version, int size) {
        return new Lookup.Found(new Document("c", "d", version, new byte[size]));
    }

    private NearCache live(Duration ttl) {
        NearCache near = new NearCache(config(ttl, 1024), clock);
        near.live();
        return near;
    }

    @Test
    void holdsAStrictAnswerForReadsThatAcceptItsAge() {
        NearCache near = live(Duration.ofSeconds(10));
        assertTrue(near.offer("k", found(3, 10), FRESH, clock.tick()));
        assertEquals(3, near.get("k", Duration.ofSeconds(5)).lookup().version());
        clock.advanceMillis(30);
        assertNull(near.get("k", Duration.ofMillis(20)), "older than the client accepts");
        assertEquals(3, near.get("k", Duration.ofSeconds(5)).lookup().version());
    }

    @Test
    void theTtlBoundsEveryAnswerWhateverTheClientAccepts() {
        NearCache near = live(Duration.ofMillis(40));
        near.offer("k", found(1, 10), FRESH, clock.tick());
        clock.advanceMillis(60);
        assertNull(near.get("k", Duration.ofDays(1)));
    }

    @Test
    void aReadThatBeganBeforeAnInvalidationCannotPutItsAnswerBack() {
        NearCache near = live(Duration.ofSeconds(10));
        long before = clock.tick();
        near.invalidate("k");
        assertFalse(near.offer("k", found(1, 10), FRESH, before));
        assertNull(near.get("k", Duration.ofSeconds(5)));
        assertTrue(near.offer("k", found(2, 10), FRESH, clock.tick()), "a read that began after it may");
        assertEquals(2, near.get("k", Duration.ofSeconds(5)).lookup().version());
    }

    @Test
    void anOlderVersionNeverReplacesANewerOne() {
        NearCache near = live(Duration.ofSeconds(10));
        near.offer("k", found(5, 10), FRESH, clock.tick());
        near.offer("k", found(4, 10), FRESH, clock.tick());
        assertEquals(5, near.get("k", Duration.ofSeconds(5)).lookup().version());
    }

    @Test
    void withoutItsChannelItServesAndHoldsNothing() {
        NearCache near = new NearCache(config(Duration.ofSeconds(10), 1024), clock);
        assertFalse(near.offer("k", found(1, 10), FRESH, clock.tick()), "not live yet");
        near.live();
        long beforeGap = clock.tick();
        near.offer("k", found(1, 10), FRESH, clock.tick());
        near.down();
        assertNull(near.get("k", Duration.ofSeconds(5)));
        near.live();
        assertNull(near.get("k", Duration.ofSeconds(5)), "dropped: messages may have been missed");
        assertFalse(near.offer("k", found(1, 10), FRESH, beforeGap), "a read from before the gap is not held");
    }

    @Test
    void largeBodiesAreNotHeld() {
        NearCache near = live(Duration.ofSeconds(10));
        assertFalse(near.offer("k", found(1, 2048), FRESH, clock.tick()));
        assertTrue(near.offer("n", Lookup.absent("c", "n", 7), FRESH, clock.tick()), "a negative answer is held");
    }

    @Test
    void heldBytesStayWithinTheBoundWhateverTheDocumentSizes() {
        NearCache near = new NearCache(config(Duration.ofSeconds(10), 64 * 1024), clock);
        near.live();
        long readAt = clock.tick();
        for (int i = 0; i < 100; i++) {
            assertTrue(near.offer(
                    "key-" + i, new Lookup.Found(new Document("c", "d" + i, 1, new byte[60 * 1024])), FRESH, readAt));
        }
        long held = near.weightedBytes();
        assertTrue(held <= 1 << 20, "held " + held + " bytes, bound 1 MiB");
        assertTrue(held > 512 * 1024, "the bound is used, not undershot: " + held);
    }

    @Test
    void underAValidLeaseAnEntryAnswersStrictReadsWhateverItsAge() {
        NearCache near = live(Duration.ofMillis(20));
        long renewed = clock.tick();
        near.leaseRenewed(renewed, renewed + Duration.ofSeconds(5).toNanos());
        assertTrue(near.offer("k", found(3, 10), FRESH, clock.tick()));
        clock.advanceMillis(40);
        assertEquals(3, near.get("k", null).lookup().version(), "exact: older than the TTL, still current");
        assertTrue(near.exactNow());
    }

    @Test
    void anEntryReadBeforeTheLeaseBeganIsNotExact() {
        NearCache near = live(Duration.ofSeconds(10));
        long before = clock.tick();
        long renewed = clock.tick();
        near.leaseRenewed(renewed, renewed + Duration.ofSeconds(5).toNanos());
        assertTrue(near.offer("k", found(1, 10), FRESH, before));
        assertNull(near.get("k", null), "a strict read is not answered by it");
        assertEquals(1, near.get("k", Duration.ofSeconds(5)).lookup().version(), "a read that accepts its age is");
    }

    @Test
    void aLapsedLeaseAnswersNoStrictReadAndItsEntriesGo() {
        NearCache near = live(Duration.ofSeconds(10));
        long renewed = clock.tick();
        near.leaseRenewed(renewed, renewed + Duration.ofMillis(20).toNanos());
        long readAt = clock.tick();
        near.offer("k", found(1, 10), FRESH, readAt);
        clock.advanceMillis(40);
        assertNull(near.get("k", null), "the lease ran out");
        assertFalse(near.exactNow());
        assertTrue(near.leaseLapsed());
        near.leaseLost();
        assertNull(near.get("k", Duration.ofSeconds(5)), "everything held may have missed invalidations");
        long again = clock.tick();
        near.leaseRenewed(again, again + Duration.ofSeconds(5).toNanos());
        assertTrue(near.offer("k", found(1, 10), FRESH, readAt), "held for reads that accept staleness");
        assertNull(near.get("k", null), "but a read from before the renewal never answers a strict read");
    }
}
