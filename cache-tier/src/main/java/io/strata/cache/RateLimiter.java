package io.strata.cache;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.RedisNodes;
import io.strata.cache.redis.Scripts;

/**
 * Request quotas shared by every instance: a counter per subject and one-second window in Redis
 * Cluster. An instance does not ask Redis for every request: it takes a share of the window's quota
 * at a time ({@code INCRBY} by a twentieth of the limit, one script and one round trip) and spends it
 * locally, so the instances together never admit more than the limit in a window (a share left
 * unspent at the end of a window is lost, never lent). The script runs on the counter's master under
 * that master's guard ({@link RedisNodes}); when Redis cannot answer, the caller decides between a
 * limit kept by this instance alone ({@link #acquireLocally}) and a refusal.
 */
@ApplicationScoped
public class RateLimiter {

    /** The outcome for one request: allowed or not, with what an HTTP answer reports of the quota. */
    public record Decision(boolean allowed, int limit, int remaining, int resetSeconds) {}

    /** What this instance holds of a subject's quota in one window, and the share it is taking now. */
    private static final class Share {
        final long window;
        int tokens;
        int lastRemaining;
        /** The one share request in flight for this subject and window (completes with what it granted). */
        java.util.concurrent.CompletableFuture<Integer> taking;

        Share(long window) {
            this.window = window;
        }
    }

    private final RedisNodes redis;
    private final String prefix;
    private final Counter refused;
    private final java.util.concurrent.ConcurrentHashMap<String, Share> shares =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<String, LocalWindow> local =
            new java.util.concurrent.ConcurrentHashMap<>();

    public RateLimiter(RedisNodes redis, CacheConfig config, MeterRegistry registry) {
        this.redis = redis;
        this.prefix = config.keyPrefix() + ":" + CacheKeys.FORMAT + ":rl:{";
        this.refused = registry.counter("strata.rate_limit.refused");
    }

    /**
     * Counts a request of {@code subject} against {@code limit} requests per second. Fails when Redis
     * does not answer within the guard's timeout (or its breaker is open) and no local share is left.
     */
    public Uni<Decision> acquire(String subject, int limit) {
        return acquire(subject, limit, 3);
    }

    private Uni<Decision> acquire(String subject, int limit, int attempts) {
        long now = System.currentTimeMillis();
        long window = now / 1000;
        int reset = (int) Math.max(1, ((window + 1) * 1000 - now + 999) / 1000);
        Share share =
                shares.compute(subject, (s, held) -> held == null || held.window != window ? new Share(window) : held);
        java.util.concurrent.CompletableFuture<Integer> taking;
        boolean mine = false;
        synchronized (share) {
            if (share.tokens > 0) {
                share.tokens--;
                return Uni.createFrom()
                        .item(new Decision(true, limit, Math.max(share.lastRemaining, share.tokens), reset));
            }
            if (share.taking == null) {
                share.taking = new java.util.concurrent.CompletableFuture<>();
                mine = true;
            }
            taking = share.taking;
        }
        if (mine) {
            take(subject, share, window, limit, taking);
        }
        // every request waiting for the share tries again once it has landed; a share of nothing is a refusal
        return Uni.createFrom().completionStage(taking).flatMap(granted -> {
            if (granted == 0 || attempts <= 1) {
                synchronized (share) {
                    if (share.tokens > 0) {
                        share.tokens--;
                        return Uni.createFrom()
                                .item(new Decision(true, limit, Math.max(share.lastRemaining, share.tokens), reset));
                    }
                }
                refused.increment();
                return Uni.createFrom().item(new Decision(false, limit, 0, reset));
            }
            return acquire(subject, limit, attempts - 1);
        });
    }

    /**
     * Counts a request of {@code subject} against {@code limit} requests per second in this instance
     * alone: the fallback while Redis cannot answer, so that a key stays limited (per instance) rather
     * than unlimited.
     */
    public Decision acquireLocally(String subject, int limit) {
        long now = System.currentTimeMillis();
        long window = now / 1000;
        int reset = (int) Math.max(1, ((window + 1) * 1000 - now + 999) / 1000);
        LocalWindow current = local.compute(
                subject, (s, held) -> held == null || held.window != window ? new LocalWindow(window) : held);
        int used = current.count.incrementAndGet();
        if (used > limit) {
            refused.increment();
            return new Decision(false, limit, 0, reset);
        }
        return new Decision(true, limit, limit - used, reset);
    }

    private record LocalWindow(long window, java.util.concurrent.atomic.AtomicInteger count) {
        LocalWindow(long window) {
            this(window, new java.util.concurrent.atomic.AtomicInteger());
        }
    }

    /** Takes a share of the window's quota from Redis into {@code share}, then completes {@code taking} with it. */
    private void take(
            String subject,
            Share share,
            long window,
            int limit,
            java.util.concurrent.CompletableFuture<Integer> taking) {
        int chunk = Math.max(1, limit / 20);
        String key = prefix + subject + "}:" + window;
        redis.run("rate_limit", Scripts.take(key, chunk, 2000L))
                .subscribe()
                .with(
                        after -> {
                            // of the share just taken, only what is still under the limit is ours
                            int granted = (int) Math.max(0, Math.min(chunk, limit - (after - chunk)));
                            synchronized (share) {
                                share.tokens += granted;
                                share.lastRemaining = (int) Math.max(0, limit - after);
                                share.taking = null;
                            }
                            taking.complete(granted);
                        },
                        failure -> {
                            synchronized (share) {
                                share.taking = null;
                            }
                            taking.completeExceptionally(failure);
                        });
    }
}
