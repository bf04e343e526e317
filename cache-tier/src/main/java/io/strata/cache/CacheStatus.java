package io.strata.cache;

/**
 * How the cache took part in a read, in the terms of RFC 9211 ({@code Cache-Status}).
 *
 * @param hit     the answer came from the cache
 * @param forward why storage was read instead, or {@code null} on a hit
 * @param stored  the answer read from storage was stored in the cache
 */
public record CacheStatus(boolean hit, Forward forward, boolean stored) {

    public enum Forward {
        /** Not in the cache. */
        MISS,
        /** The client asked to revalidate ({@code Cache-Control: no-cache}). */
        REQUEST,
        /** The cache was not used: Redis is unavailable, or an invalidation of this key is pending. */
        BYPASS
    }

    public static final CacheStatus HIT = new CacheStatus(true, null, false);

    static CacheStatus forwarded(Forward forward, boolean stored) {
        return new CacheStatus(false, forward, stored);
    }
}
