package io.strata.cache;

import java.time.Duration;

/**
 * How the cache took part in a read, in the terms of RFC 9211 ({@code Cache-Status}).
 *
 * @param hit       the answer came from the cache
 * @param forward   why storage was read instead, or {@code null} on a hit
 * @param stored    the answer read from storage was stored in the cache
 * @param collapsed the read waited for another reader's fill instead of reading storage itself
 * @param staleBy   how far past its freshness the served entry was, or {@code null} when fresh
 * @param detail    why a stale entry was served ({@code stale-while-revalidate}, {@code stale-if-error})
 */
public record CacheStatus(boolean hit, Forward forward, boolean stored, boolean collapsed, Duration staleBy,
        String detail) {

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

    public static final CacheStatus HIT = new CacheStatus(true, null, false, false, null, null);

    static CacheStatus forwarded(Forward forward, boolean stored) {
        return new CacheStatus(false, forward, stored, false, null, null);
    }

    /** Answered from the cache after waiting for another reader's load. */
    static CacheStatus collapsed(Forward forward) {
        return new CacheStatus(false, forward, false, true, null, null);
    }

    static CacheStatus stale(Duration staleBy, String detail) {
        return new CacheStatus(true, null, false, false, staleBy, detail);
    }
}
