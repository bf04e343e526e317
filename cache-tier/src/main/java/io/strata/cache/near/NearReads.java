package io.strata.cache.near;

import java.time.Duration;
import java.util.function.Supplier;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.strata.cache.CacheStatus;
import io.strata.cache.CachedLookup;
import io.strata.cache.ReadOptions;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.RedisNodes;
import io.strata.cache.redis.RedisOptionsCapture;
import io.strata.cache.redis.Scripts.Announcement;
import io.strata.storage.Lookup;
import io.vertx.mutiny.core.Vertx;

/**
 * Reads that accept bounded staleness ({@code max-stale=N}, or a collection's default) answered from
 * this process's {@link NearCache}, and the announcements that keep every instance's near cache
 * short of changes ({@link InvalidationChannel}). With the near cache disabled, every read is strict
 * and writes announce nothing.
 */
@ApplicationScoped
public class NearReads {

    private final CacheConfig config;
    private final CacheKeys keys;
    private final NearCache near;
    private final InvalidationChannel channel;
    private final io.micrometer.core.instrument.Counter hits;
    private final io.micrometer.core.instrument.Counter misses;

    public NearReads(CacheConfig config, Vertx vertx, RedisOptionsCapture options, RedisNodes redis, MeterRegistry registry) {
        this.config = config;
        this.keys = new CacheKeys(config.keyPrefix());
        this.hits = registry.counter("strata.cache.near.reads", "result", "hit");
        this.misses = registry.counter("strata.cache.near.reads", "result", "miss");
        if (config.near().enabled()) {
            this.near = new NearCache(config.near());
            this.channel = new InvalidationChannel(keys.shared("near-invalidations"), vertx.getDelegate(), () -> {
                io.vertx.redis.client.RedisOptions base = options.options();
                return base == null ? new io.vertx.redis.client.RedisOptions() : base.setPoolName("strata-near");
            }, redis::masters, near, registry);
            registry.gauge("strata.cache.near.entries", near, NearCache::size);
        } else {
            this.near = null;
            this.channel = null;
        }
    }

    @PostConstruct
    void start() {
        if (channel != null) {
            channel.start();
        }
    }

    @PreDestroy
    void stop() {
        if (channel != null) {
            channel.stop();
        }
    }

    /**
     * Answers from the near cache when the read accepts staleness and an entry young enough is held;
     * otherwise runs the strict read and holds its answer.
     */
    public Uni<CachedLookup> read(String collection, String id, ReadOptions options, Supplier<Uni<CachedLookup>> strict) {
        Duration maxStale = near == null || options.revalidate() ? null
                : options.maxStale() != null ? options.maxStale() : config.near().defaultMaxStale().get(collection);
        if (maxStale == null || maxStale.isZero()) {
            return strict.get();
        }
        String entryKey = keys.entry(collection, id);
        Lookup held = near.get(entryKey, maxStale);
        if (held != null) {
            hits.increment();
            return Uni.createFrom().item(new CachedLookup(held, CacheStatus.NEAR_HIT));
        }
        misses.increment();
        long readAt = NearCache.now();
        return strict.get().map(read -> {
            // a stale serve is not an answer the staleness bound can start from
            boolean stored = read.status().staleBy() == null && near.offer(entryKey, read.lookup(), readAt);
            return new CachedLookup(read.lookup(), read.status().nearMiss(stored));
        });
    }

    /** Drops this instance's copy of the document at once (before a write of it is acknowledged). */
    public void invalidateLocally(String collection, String id) {
        if (near != null) {
            near.invalidate(keys.entry(collection, id));
        }
    }

    /** What a write-through or invalidation of the document publishes for every instance's near cache. */
    public Announcement announcement(String collection, String id) {
        return channel == null ? Announcement.NONE : new Announcement(channel.channel(), channel.message(keys.entry(collection, id)));
    }
}
