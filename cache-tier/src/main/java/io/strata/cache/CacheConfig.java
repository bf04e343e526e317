package io.strata.cache;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The cache tier's protocol settings. */
@ConfigMapping(prefix = "strata.cache")
public interface CacheConfig {

    /** First part of every Redis key; the key format version follows it. */
    @WithDefault("strata")
    String keyPrefix();

    /** Time to live of a cached document. */
    @WithDefault("1h")
    Duration ttl();

    /** Random extra TTL, as a fraction of the TTL, so that entries filled together do not expire together. */
    @WithDefault("0.1")
    double ttlJitter();

    /** Time to live of a negative entry (a document that is absent or deleted). */
    @WithDefault("30s")
    Duration negativeTtl();

    /** Lifetime of a fill token: a fill slower than this is discarded (never stored late). */
    @WithDefault("10s")
    Duration fillTokenTtl();

    /** How often invalidations that could not reach Redis after a write are retried. */
    @WithDefault("1s")
    Duration invalidationRetryInterval();

    /** How often the Redis Cluster slot map used to group batch reads per node is refreshed. */
    @WithDefault("5s")
    Duration topologyRefreshInterval();
}
