package io.strata.cache.protocol;

import java.util.concurrent.ThreadLocalRandom;

import io.strata.cache.CacheConfig;
import io.strata.cache.redis.Scripts.Freshness;
import io.strata.storage.Lookup;

/**
 * How long entries are fresh, and how long their keys live: through freshness and the stale window
 * after it. Document entries get a random extra share of the TTL, so that entries filled together do
 * not expire together; negative entries are short-lived.
 */
final class Lifetimes {

    private final CacheConfig config;

    Lifetimes(CacheConfig config) {
        this.config = config;
    }

    /** For an entry holding {@code lookup}, stored now. */
    Freshness of(Lookup lookup) {
        return lookup instanceof Lookup.Found ? document() : negative();
    }

    Freshness document() {
        long ttl = config.ttl().toMillis();
        long fresh = ttl
                + (long) (ttl * config.ttlJitter() * ThreadLocalRandom.current().nextDouble());
        return freshFor(fresh);
    }

    Freshness negative() {
        return freshFor(config.negativeTtl().toMillis());
    }

    private Freshness freshFor(long freshMillis) {
        long staleWindow = Math.max(
                config.staleIfError().toMillis(), config.staleWhileRevalidate().toMillis());
        return new Freshness(System.currentTimeMillis() + freshMillis, freshMillis + staleWindow);
    }

    static String newToken() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong());
    }
}
