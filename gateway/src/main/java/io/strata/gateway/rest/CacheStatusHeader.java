package io.strata.gateway.rest;

import io.strata.cache.CacheStatus;

/** The {@code Cache-Status} header (RFC 9211): how the cache tier took part in a read, spelled for HTTP. */
final class CacheStatusHeader {

    private CacheStatusHeader() {
    }

    /**
     * RFC 9211 Cache-Status. The shared cache is {@code strata}: {@code hit} (with {@code ttl} negative
     * and a {@code detail} when the entry was past its freshness), or {@code fwd=miss|request|stale|bypass}
     * with {@code stored} when the answer was cached and {@code collapsed} when it came from another
     * reader's fill. The near cache, in front of it, is {@code strata-near} and appears whenever it took
     * part in the read: alone when it answered, after {@code strata} when it did not.
     */
    static String of(CacheStatus status) {
        if (status.near() == CacheStatus.Near.HIT) {
            return "strata-near; hit";
        }
        StringBuilder value = new StringBuilder("strata");
        if (status.hit()) {
            value.append("; hit");
            if (status.staleBy() != null) {
                value.append("; ttl=-").append(Math.max(1, status.staleBy().toSeconds()));
            }
        } else {
            value.append("; fwd=").append(status.forward().name().toLowerCase());
            if (status.stored()) {
                value.append("; stored");
            }
            if (status.collapsed()) {
                value.append("; collapsed");
            }
        }
        if (status.detail() != null) {
            value.append("; detail=").append(status.detail());
        }
        if (status.near() != null) {
            value.append(", strata-near; fwd=miss");
            if (status.near() == CacheStatus.Near.MISS_STORED) {
                value.append("; stored");
            }
        }
        return value.toString();
    }
}
