package io.strata.cache;

import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Redis;

/**
 * Request quotas shared by every instance: a counter per subject and one-second window in Redis
 * Cluster (one script, one round trip: increment, and set the expiry on the first request of the
 * window). Runs under its own timeout, bulkhead and breaker; when Redis cannot answer the caller
 * decides whether to let the request through (fail open) or refuse it.
 */
@ApplicationScoped
public class RateLimiter {

    /** The outcome for one request: allowed or not, with what an HTTP answer reports of the quota. */
    public record Decision(boolean allowed, int limit, int remaining, int resetSeconds) {
    }

    /** KEYS: the window's counter. ARGV: its lifetime in ms. Returns the count including this request. */
    private static final Scripts.Script COUNT = new Scripts.Script("""
            local count = redis.call('INCR', KEYS[1])
            if count == 1 then
              redis.call('PEXPIRE', KEYS[1], ARGV[1])
            end
            return count
            """);

    private final Redis redis;
    private final RedisGuards guards;
    private final String prefix;
    private final Counter refused;

    public RateLimiter(Redis redis, CacheConfig config, MeterRegistry registry) {
        this.redis = redis;
        this.guards = new RedisGuards(config.redis(), registry);
        this.prefix = config.keyPrefix() + ":" + CacheKeys.FORMAT + ":rl:{";
        this.refused = registry.counter("strata.rate_limit.refused");
    }

    /**
     * Counts a request of {@code subject} against {@code limit} requests per second. Fails when Redis
     * does not answer within the guard's timeout (or its breaker is open).
     */
    public Uni<Decision> acquire(String subject, int limit) {
        long now = System.currentTimeMillis();
        long window = now / 1000;
        String key = prefix + subject + "}:" + window;
        int reset = (int) Math.max(1, (window + 1) * 1000 - now + 999) / 1000;
        return guards.call("rate-limit", "rate_limit",
                () -> COUNT.run(request -> redis.send(request), List.of(key), 2000L)).map(count -> {
                    long n = count.toLong();
                    boolean allowed = n <= limit;
                    if (!allowed) {
                        refused.increment();
                    }
                    return new Decision(allowed, limit, (int) Math.max(0, limit - n), reset);
                });
    }
}
