package io.strata.cache.near;

import java.time.Duration;
import java.util.UUID;
import java.util.function.Supplier;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.strata.cache.CachedLookup;
import io.strata.cache.ReadOptions;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.RedisNodes;
import io.strata.cache.redis.RedisOptionsCapture;
import io.strata.cache.redis.Scripts.Announcement;
import io.vertx.mutiny.core.Vertx;

/**
 * Reads answered from this process's {@link NearCache}, and what writes do for every instance's near
 * cache: strict reads while this instance holds a lease ({@link NearLeases}), reads that accept
 * staleness ({@code max-stale=N}, or a collection's default) within their bound; writes publish their
 * invalidation ({@link InvalidationChannel}) and wait for the lease holders' answers. With the near
 * cache disabled every read goes to Redis and writes publish nothing.
 */
@ApplicationScoped
@io.quarkus.runtime.Startup
public class NearReads {

    private final CacheConfig config;
    private final CacheKeys keys;
    private final NearCache near;
    private final NearLeases leases;
    private final InvalidationChannel channel;
    private final Counter hits;
    private final Counter misses;

    public NearReads(
            CacheConfig config, Vertx vertx, RedisOptionsCapture options, RedisNodes redis, MeterRegistry registry) {
        this.config = config;
        this.keys = new CacheKeys(config.keyPrefix());
        this.hits = registry.counter("strata.cache.near.reads", "result", "hit");
        this.misses = registry.counter("strata.cache.near.reads", "result", "miss");
        if (config.near().enabled()) {
            String instance = UUID.randomUUID().toString().replace("-", "").substring(0, 16);
            String registryKey = keys.shared("near-leases");
            this.near = new NearCache(config.near());
            this.leases = config.near().strictReads()
                    ? new NearLeases(
                            instance,
                            registryKey,
                            redis,
                            near,
                            vertx.getDelegate(),
                            config.near().lease(),
                            () -> config.replicaAcks().orElseGet(() -> Math.min(1, redis.replicasOf(registryKey))),
                            config.replicaAckTimeout(),
                            registry)
                    : null;
            this.channel = new InvalidationChannel(
                    keys.shared("near-invalidations"),
                    instance,
                    vertx.getDelegate(),
                    () -> {
                        io.vertx.redis.client.RedisOptions base = options.options();
                        return base == null
                                ? new io.vertx.redis.client.RedisOptions()
                                : base.setPoolName("strata-near");
                    },
                    redis::masters,
                    near,
                    leases,
                    registry);
            registry.gauge("strata.cache.near.entries", near, NearCache::size);
            registry.gauge("strata.cache.near.bytes", near, NearCache::weightedBytes);
        } else {
            this.near = null;
            this.leases = null;
            this.channel = null;
        }
    }

    @PostConstruct
    void start() {
        if (leases != null) {
            leases.start();
        }
        if (channel != null) {
            channel.start();
        }
    }

    @PreDestroy
    void stop() {
        if (channel != null) {
            channel.stop();
        }
        if (leases != null) {
            leases.stop();
        }
    }

    /**
     * Answers from the near cache when it may (an exact entry under a valid lease, or one young enough
     * for a read that accepts staleness); otherwise runs the strict read and holds its answer.
     */
    public Uni<CachedLookup> read(
            String collection, String id, ReadOptions options, Supplier<Uni<CachedLookup>> strict) {
        if (near == null || options.revalidate()) {
            return strict.get();
        }
        Duration maxStale = options.maxStale() != null
                ? options.maxStale()
                : config.near().defaultMaxStale().get(collection);
        boolean accepts = maxStale != null && !maxStale.isZero();
        if (!accepts && (leases == null || !near.exactNow())) {
            return strict.get();
        }
        String entryKey = keys.entry(collection, id);
        CachedLookup held = near.get(entryKey, accepts ? maxStale : null);
        if (held != null) {
            hits.increment();
            return Uni.createFrom().item(held);
        }
        misses.increment();
        long readAt = near.now();
        return strict.get().map(read -> {
            // a stale serve is not an answer the staleness bound can start from
            boolean stored =
                    read.status().staleBy() == null && near.offer(entryKey, read.lookup(), read.freshUntil(), readAt);
            return new CachedLookup(read.lookup(), read.status().nearMiss(stored), read.freshUntil());
        });
    }

    /** Drops this instance's copy of the document at once. */
    public void invalidateLocally(String collection, String id) {
        if (near != null) {
            near.invalidate(keys.entry(collection, id));
        }
    }

    /** A new write's identity, for the answers of the lease holders to its invalidation. */
    public String newWriteId() {
        return leases == null
                ? "-"
                : Long.toHexString(
                        java.util.concurrent.ThreadLocalRandom.current().nextLong());
    }

    /** What a write-through or invalidation of the document publishes for every instance's near cache. */
    public Announcement announcement(String collection, String id, String writeId) {
        return channel == null
                ? Announcement.NONE
                : new Announcement(channel.channel(), channel.message(keys.entry(collection, id), writeId));
    }

    /**
     * After the write {@code writeId}'s invalidation of the document was published: waits until every
     * instance holding a near-cache lease has dropped the document or its lease has run out.
     */
    public Uni<Void> awaitHolders(String collection, String id, String writeId) {
        return leases == null || "-".equals(writeId)
                ? Uni.createFrom().voidItem()
                : leases.awaitHolders(keys.entry(collection, id), writeId);
    }

    /** Publishes the document's invalidation from anywhere (its master could not), then waits for the holders. */
    public Uni<Void> publishAndAwaitHolders(String collection, String id, String writeId) {
        if (channel == null) {
            return Uni.createFrom().voidItem();
        }
        Announcement announcement = announcement(collection, id, writeId);
        if (leases == null) {
            return Uni.createFrom().voidItem();
        }
        return leases.publishAndAwait(
                announcement.channel(), announcement.message(), keys.entry(collection, id), writeId);
    }
}
