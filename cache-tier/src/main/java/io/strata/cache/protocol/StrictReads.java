package io.strata.cache.protocol;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.strata.cache.CacheStatus;
import io.strata.cache.CacheStatus.Forward;
import io.strata.cache.CachedLookup;
import io.strata.cache.ReadOptions;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.Entry;
import io.strata.cache.redis.RedisNodes;
import io.strata.storage.StorageUnavailableException;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;

/**
 * Strict reads through Redis: never older than a write acknowledged before the read began.
 *
 * <h2>Why a hit is never older than an acknowledged write</h2>
 * A write is acknowledged only after its write-through (or an invalidation of the document) reached
 * the document's master (see {@link WriteThrough}), and entries are created only by fills that a
 * later write's token removal would have discarded ({@link FillLease}). A document whose invalidation
 * has not reached Redis yet is marked pending on this instance and read from storage
 * ({@link Invalidations}). A read that cannot reach Redis reads storage.
 *
 * <h2>Past freshness</h2>
 * An entry within {@code stale-while-revalidate} past its freshness is served at once while one
 * background load refreshes it; an older one is revalidated, and served only if storage fails,
 * within {@code stale-if-error} (the client's own bound, or the configured one). Entries are kept no
 * older than any acknowledged write whether fresh or not, so "stale" only means "not re-read lately".
 */
@ApplicationScoped
public class StrictReads {

    private static final Logger LOG = Logger.getLogger(StrictReads.class);

    private final RedisNodes redis;
    private final FillLease lease;
    private final Invalidations invalidations;
    private final CacheConfig config;
    private final CacheMetrics metrics;
    private final CacheKeys keys;

    public StrictReads(
            RedisNodes redis, FillLease lease, Invalidations invalidations, CacheConfig config, CacheMetrics metrics) {
        this.redis = redis;
        this.lease = lease;
        this.invalidations = invalidations;
        this.config = config;
        this.metrics = metrics;
        this.keys = new CacheKeys(config.keyPrefix());
    }

    @WithSpan("strata.cache.read")
    public Uni<CachedLookup> read(String collection, String id, ReadOptions options) {
        if (invalidations.pending(collection, id)) {
            return bypass(collection, id);
        }
        if (options.revalidate()) {
            return lease.revalidate(collection, id);
        }
        String entryKey = keys.entry(collection, id);
        Request lookup = Request.cmd(Command.HMGET)
                .arg(entryKey)
                .arg(Entry.FIELDS[0])
                .arg(Entry.FIELDS[1])
                .arg(Entry.FIELDS[2]);
        return redis.send(entryKey, "lookup", lookup).onItemOrFailure().transformToUni((response, failure) -> {
            if (failure != null) {
                LOG.debugf("cache read of %s/%s failed (%s); reading storage", collection, id, failure);
                return bypass(collection, id);
            }
            Entry entry = Entry.decode(collection, id, response);
            if (entry == null) {
                metrics.misses.increment();
                return lease.load(collection, id, Forward.MISS);
            }
            long staleMillis = System.currentTimeMillis() - entry.freshUntil();
            if (staleMillis < 0) {
                (entry.lookup() instanceof io.strata.storage.Lookup.Found ? metrics.hits : metrics.negativeHits)
                        .increment();
                return Uni.createFrom().item(new CachedLookup(entry.lookup(), CacheStatus.HIT, entry.freshUntil()));
            }
            return stale(collection, id, entry, Duration.ofMillis(staleMillis), options);
        });
    }

    private Uni<CachedLookup> stale(String collection, String id, Entry entry, Duration staleBy, ReadOptions options) {
        if (staleBy.compareTo(config.staleWhileRevalidate()) <= 0) {
            metrics.staleHits.increment();
            lease.load(collection, id, Forward.STALE)
                    .subscribe()
                    .with(
                            ignored -> {},
                            failure -> LOG.debugf("background refresh of %s/%s failed: %s", collection, id, failure));
            return Uni.createFrom()
                    .item(new CachedLookup(
                            entry.lookup(), CacheStatus.stale(staleBy, "stale-while-revalidate"), entry.freshUntil()));
        }
        Duration tolerance =
                options.staleIfError() == null || options.staleIfError().compareTo(config.staleIfError()) > 0
                        ? config.staleIfError()
                        : options.staleIfError();
        return lease.load(collection, id, Forward.STALE)
                .onFailure(StorageUnavailableException.class)
                .recoverWithUni(failure -> {
                    if (staleBy.compareTo(tolerance) > 0) {
                        return Uni.createFrom().failure(failure);
                    }
                    metrics.staleHits.increment();
                    return Uni.createFrom()
                            .item(new CachedLookup(
                                    entry.lookup(), CacheStatus.stale(staleBy, "stale-if-error"), entry.freshUntil()));
                });
    }

    private Uni<CachedLookup> bypass(String collection, String id) {
        metrics.bypasses.increment();
        return lease.storageOnly(collection, id, Forward.BYPASS);
    }
}
