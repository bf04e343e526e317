package io.strata.cache.protocol;

import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.strata.cache.CacheHooks;
import io.strata.cache.near.NearReads;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.RedisNodes;
import io.strata.cache.redis.Scripts;
import io.strata.storage.ChangeLog.Change;
import io.strata.storage.WriteResult;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;

/**
 * What a committed write does to the cache before it is acknowledged.
 *
 * <h2>Invariant: no acknowledgement runs ahead of the cache</h2>
 * A write is acknowledged only once the document's master has received its write-through (which
 * removes the fill token, so no fill that read storage before the commit can land, and brings a cached
 * entry up to the new version) or an invalidation (which removes the entry and the token) &mdash; with
 * a replica's acknowledgement whenever the master has a replica, so that a failover cannot undo it.
 * When neither reaches Redis from here, the write waits until another instance has removed the
 * document's keys and confirmed the change ({@link Invalidations#awaitRepair}). One deadline,
 * {@code write-visibility-timeout} after the commit (when this runs), bounds all of that (the write-through,
 * a quick invalidation and the wait for a repair): past it the write fails with
 * {@link io.strata.cache.WriteNotVisibleException} instead of being acknowledged. Then every instance
 * holding a near-cache lease must have dropped the document, or its lease run out
 * ({@link NearReads#awaitHolders}): at most one lease more. This instance's near cache drops
 * the document before the write-through and again right before the acknowledgement, so that a read
 * racing with the write cannot put the old version back in between.
 */
@ApplicationScoped
public class WriteThrough {

    private static final Logger LOG = Logger.getLogger(WriteThrough.class);

    private final RedisNodes redis;
    private final Invalidations invalidations;
    private final NearReads near;
    private final CacheHooks hooks;
    private final CacheMetrics metrics;
    private final CacheConfig config;
    private final CacheKeys keys;
    private final Lifetimes lifetimes;

    public WriteThrough(
            RedisNodes redis,
            Invalidations invalidations,
            NearReads near,
            CacheHooks hooks,
            CacheMetrics metrics,
            CacheConfig config) {
        this.redis = redis;
        this.invalidations = invalidations;
        this.near = near;
        this.hooks = hooks;
        this.metrics = metrics;
        this.config = config;
        this.keys = new CacheKeys(config.keyPrefix());
        this.lifetimes = new Lifetimes(config);
    }

    @WithSpan("strata.cache.write_through")
    public Uni<Void> apply(WriteResult write) {
        near.invalidateLocally(write.collection(), write.id());
        Change change = new Change(write.collection(), write.id(), write.version());
        String writeId = near.newWriteId();
        long deadline = System.nanoTime() + config.writeVisibilityTimeout().toNanos();
        return hooks.runBeforeWriteThrough(write.collection(), write.id())
                .flatMap(ready -> send(write, writeId))
                .onItemOrFailure()
                .transformToUni((acknowledged, failure) -> {
                    if (failure == null && acknowledged) {
                        metrics.writeThroughs.increment();
                        if (write.deleted()) {
                            metrics.tombstones.increment();
                        }
                        invalidations.confirmLater(change);
                        return near.awaitHolders(write.collection(), write.id(), writeId);
                    }
                    metrics.writeThroughFailures.increment();
                    // often a new connection succeeds where the write-through's failed
                    return invalidations
                            .invalidateNow(write.collection(), write.id(), writeId, deadline)
                            .flatMap(invalidated -> {
                                if (invalidated) {
                                    invalidations.confirmLater(change);
                                    return near.awaitHolders(write.collection(), write.id(), writeId);
                                }
                                LOG.warnf(
                                        "cache not updated after write of %s/%s version %d (%s); waiting for its copy to be removed",
                                        write.collection(),
                                        write.id(),
                                        write.version(),
                                        failure == null ? "too few replicas acknowledged" : failure.toString());
                                return invalidations
                                        .awaitRepair(change, deadline)
                                        .call(() ->
                                                near.publishAndAwaitHolders(write.collection(), write.id(), writeId));
                            });
                })
                .invoke(() -> near.invalidateLocally(write.collection(), write.id()));
    }

    /** The write-through script, and a {@code WAIT} on the same connection when replicas must acknowledge it. */
    private Uni<Boolean> send(WriteResult write, String writeId) {
        CacheKeys.Document document = keys.document(write.collection(), write.id());
        Scripts.Call<Scripts.WriteOutcome> call = Scripts.write(
                document,
                write.version(),
                write.body(),
                write.deleted() ? lifetimes.negative() : lifetimes.document(),
                near.announcement(write.collection(), write.id(), writeId));
        int acks = invalidations.replicaAcks(document.entry());
        if (acks == 0) {
            return redis.run("write_through", call).map(outcome -> true);
        }
        Request wait = Request.cmd(Command.WAIT)
                .arg(acks)
                .arg(config.replicaAckTimeout().toMillis());
        return redis.batch(document.entry(), "write_through", List.of(call::request, source -> wait))
                .map(responses -> responses.get(1).toInteger() >= acks);
    }
}
