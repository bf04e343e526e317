package io.strata.cache;

import java.time.Duration;

/**
 * How the cache tier took part in a read, in the terms of RFC 9211 ({@code Cache-Status}): the
 * shared Redis cache and, for reads that accept staleness, the near cache in front of it.
 *
 * @param hit       the answer came from the Redis cache
 * @param forward   why storage was read instead, or {@code null} on a hit
 * @param stored    the answer read from storage was stored in the cache
 * @param collapsed the read waited for another reader's fill instead of reading storage itself
 * @param staleBy   how far past its freshness the served entry was, or {@code null} when fresh
 * @param detail    why a stale entry was served ({@code stale-while-revalidate}, {@code stale-if-error})
 * @param near      the near cache's part, or {@code null} when the read was strict and did not consult it
 */
public record CacheStatus(
        boolean hit, Forward forward, boolean stored, boolean collapsed, Duration staleBy, String detail, Near near) {

    public enum Forward {
        /** Not in the cache. */
        MISS,
        /** The client asked to revalidate ({@code Cache-Control: no-cache}). */
        REQUEST,
        /** The entry was past its freshness and was revalidated with storage. */
        STALE,
        /** The cache was not used: Redis is unavailable, or an invalidation of this key is pending. */
        BYPASS
    }

    /** The near cache's part in a read that accepted staleness. */
    public enum Near {
        /** Answered from the near cache; Redis and storage were not consulted. */
        HIT,
        /** Not in the near cache (or too old for the client); the strict answer was not held. */
        MISS,
        /** Not in the near cache; the strict answer is now held there. */
        MISS_STORED
    }

    public static final CacheStatus HIT = new CacheStatus(true, null, false, false, null, null, null);

    /** Answered from the near cache alone. */
    public static final CacheStatus NEAR_HIT = new CacheStatus(false, null, false, false, null, null, Near.HIT);

    public static CacheStatus forwarded(Forward forward, boolean stored) {
        return new CacheStatus(false, forward, stored, false, null, null, null);
    }

    /** Answered from the cache after waiting for another reader's load. */
    public static CacheStatus collapsed(Forward forward) {
        return new CacheStatus(false, forward, false, true, null, null, null);
    }

    public static CacheStatus stale(Duration staleBy, String detail) {
        return new CacheStatus(true, null, false, false, staleBy, detail, null);
    }

    /** This strict read's status, after a near-cache miss that did or did not hold its answer. */
    public CacheStatus nearMiss(boolean held) {
        return new CacheStatus(hit, forward, stored, collapsed, staleBy, detail, held ? Near.MISS_STORED : Near.MISS);
    }
}
