package io.strata.cache.protocol;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.strata.cache.near.NearReads;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.RedisNodes;
import io.strata.cache.redis.Scripts;
import io.strata.storage.ChangeLog;
import io.strata.storage.ChangeLog.Change;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;

/**
 * Repairs the cache after writes whose write-through did not reach Redis, so that no instance serves
 * a copy older than a write once that write is acknowledged.
 *
 * <h2>Invariant</h2>
 * A document's cached copy may be older than a committed write only while that write's change is
 * unconfirmed in the change log (every write records it in its own transaction). While a document
 * is marked pending here, this instance reads it from storage. A change is confirmed only after the
 * document's keys were updated or removed in Redis, with the replica acknowledgement the topology
 * asks for ({@link #replicaAcks}).
 *
 * <h2>How a pending document is repaired</h2>
 * <ul>
 * <li>this instance retries the removal of the document's keys every {@code invalidation-retry-interval};</li>
 * <li>the writer announces the change; every instance marks it pending and removes the keys as soon
 * as it reaches that master, then confirms the change;</li>
 * <li>announcements missed (a reconnection of the listener) are made up for by loading every
 * unconfirmed change at once, and changes nobody confirmed for {@code unconfirmed-change-age} are
 * found by every instance's sweep, page after page, however many there are;</li>
 * <li>a write whose outcome is unknown (storage timed out, perhaps after its commit) is watched: its
 * keys are removed now, and again when its change shows up in the change log.</li>
 * </ul>
 */
@ApplicationScoped
@io.quarkus.runtime.Startup
public class Invalidations {

    private static final Logger LOG = Logger.getLogger(Invalidations.class);
    private static final int PAGE = 500;
    private static final Duration CONFIRM_EVERY = Duration.ofMillis(100);

    private final RedisNodes redis;
    private final ChangeLog changes;
    private final CacheConfig config;
    private final NearReads near;
    private final Vertx vertx;
    private final CacheKeys keys;
    private final PendingInvalidations pending = new PendingInvalidations();
    private final ConcurrentLinkedQueue<Change> toConfirm = new ConcurrentLinkedQueue<>();
    /** Documents whose last write has an unknown outcome, until when to watch for its change. */
    private final Map<PendingInvalidations.Key, Long> watched = new ConcurrentHashMap<>();

    private long sweepTimer = -1;
    private long confirmTimer = -1;

    public Invalidations(
            RedisNodes redis,
            ChangeLog changes,
            CacheConfig config,
            NearReads near,
            Vertx vertx,
            MeterRegistry registry) {
        this.redis = redis;
        this.changes = changes;
        this.config = config;
        this.near = near;
        this.vertx = vertx;
        this.keys = new CacheKeys(config.keyPrefix());
        registry.gauge("strata.cache.pending_invalidations", pending, PendingInvalidations::size);
    }

    @PostConstruct
    void start() {
        changes.onAnnouncement(
                change -> {
                    pending.add(change.collection(), change.id(), change.version());
                    near.invalidateLocally(change.collection(), change.id());
                },
                this::catchUp);
        sweepTimer = vertx.setPeriodic(config.invalidationRetryInterval().toMillis(), tick -> sweep());
        confirmTimer = vertx.setPeriodic(CONFIRM_EVERY.toMillis(), tick -> confirmChanges());
    }

    @PreDestroy
    void stop() {
        vertx.cancelTimer(sweepTimer);
        vertx.cancelTimer(confirmTimer);
    }

    /** Whether reads of the document must go to storage here: its cached copy may be older than a write. */
    boolean pending(String collection, String id) {
        return pending.contains(collection, id);
    }

    /** Documents marked pending here. */
    public int pendingCount() {
        return pending.size();
    }

    /** The write-through of {@code change} (or an invalidation of its document) reached Redis: confirm it. */
    void confirmLater(Change change) {
        toConfirm.add(change);
    }

    /** Replicas a write to the master of {@code key} waits for: configured, or one whenever the master has one. */
    int replicaAcks(String key) {
        return config.replicaAcks().orElseGet(() -> Math.min(1, redis.replicasOf(key)));
    }

    /**
     * Removes the document's keys (all formats) and announces it to near caches, waiting for the
     * replica acknowledgements {@link #replicaAcks} asks for; true when done.
     */
    private Uni<Boolean> invalidate(
            String collection, String id, String writeId, Duration timeout, Duration batchTimeout) {
        CacheKeys.Document document = keys.document(collection, id);
        Scripts.Call<Void> call = Scripts.invalidate(document, near.announcement(collection, id, writeId));
        int acks = replicaAcks(document.entry());
        if (acks == 0) {
            return redis.run("invalidate", call, timeout).map(ignored -> true);
        }
        Request wait = Request.cmd(Command.WAIT)
                .arg(acks)
                .arg(config.replicaAckTimeout().toMillis());
        return redis.batch(document.entry(), "invalidate", List.of(call::request, source -> wait), batchTimeout)
                .map(responses -> responses.get(1).toInteger() >= acks);
    }

    /**
     * One quick attempt (a connection that was just cut is usually replaced within milliseconds), cut
     * short by the write's {@code deadline} ({@link System#nanoTime()}); false when it did not reach
     * Redis. The slower attempt, with the repair timeout, belongs to the repair path
     * ({@link #awaitRepair}), which runs it while its announcement sets the other instances to work:
     * that matters when this instance is the one cut off from the master.
     */
    Uni<Boolean> invalidateNow(String collection, String id, String writeId, long deadline) {
        return invalidateWithin(
                collection,
                id,
                writeId,
                config.redis().timeout(),
                config.redis().batchTimeout(),
                deadline);
    }

    /** An invalidation whose timeouts are cut at {@code deadline}; false when it did not reach Redis (or no time was left). */
    private Uni<Boolean> invalidateWithin(
            String collection, String id, String writeId, Duration timeout, Duration batchTimeout, long deadline) {
        Duration left = left(deadline);
        if (left.isZero()) {
            return Uni.createFrom().item(false);
        }
        return invalidate(collection, id, writeId, min(timeout, left), min(batchTimeout, left))
                .onFailure()
                .recoverWithItem(false);
    }

    /**
     * Neither the write-through nor a quick invalidation reached Redis: read the document from storage
     * here, tell every instance (each marks it and removes the keys when it can), and answer when this
     * instance's own repair attempt (with the repair timeout: a slow Redis still answers) reaches
     * Redis or the change is confirmed by any instance, or fail at the write's {@code deadline}
     * ({@link System#nanoTime()}, {@code write-visibility-timeout} after the commit).
     */
    Uni<Void> awaitRepair(Change change, long deadline) {
        PendingInvalidations.Mark mark = pending.add(change.collection(), change.id(), change.version());
        changes.announce(change)
                .subscribe()
                .with(
                        ok -> {},
                        failure -> LOG.infof(
                                "announcement of %s/%s failed (%s); other instances find it in the change log",
                                change.collection(), change.id(), failure));
        return Uni.combine()
                .any()
                .of(repairedHere(change, mark, deadline), confirmedBy(change, deadline))
                .replaceWithVoid();
    }

    /**
     * This instance's repair of {@code change}, at once rather than at the next sweep, with the repair
     * timeout cut at {@code deadline}: completes only if it reached Redis (otherwise the sweep and the
     * other instances carry on).
     */
    private Uni<Void> repairedHere(Change change, PendingInvalidations.Mark mark, long deadline) {
        Duration repair = config.redis().repairTimeout();
        return invalidateWithin(
                        change.collection(),
                        change.id(),
                        "-",
                        repair,
                        repair.plus(config.replicaAckTimeout()),
                        deadline)
                .flatMap(done -> {
                    if (!done) {
                        return Uni.createFrom().nothing();
                    }
                    repaired(new PendingInvalidations.Key(change.collection(), change.id()), mark);
                    return Uni.createFrom().voidItem();
                });
    }

    /** Polls the change log until the change is confirmed; neither the pause nor the poll runs past {@code deadline}. */
    private Uni<Void> confirmedBy(Change change, long deadline) {
        Duration left = left(deadline);
        if (left.isZero()) {
            return Uni.createFrom()
                    .failure(new io.strata.cache.WriteNotVisibleException(
                            change.collection(), change.id(), change.version()));
        }
        return Uni.createFrom()
                .voidItem()
                .onItem()
                .delayIt()
                .by(min(config.invalidationRetryInterval(), left))
                .flatMap(ignored -> {
                    Duration poll = left(deadline);
                    return poll.isZero()
                            ? Uni.createFrom().item(true)
                            : changes.pending(change).ifNoItem().after(poll).recoverWithItem(true);
                })
                .onFailure()
                .recoverWithItem(true)
                .flatMap(stillPending -> stillPending
                        ? confirmedBy(change, deadline)
                        : Uni.createFrom().voidItem());
    }

    /**
     * Whole milliseconds left until {@code deadline} ({@link System#nanoTime()}), never negative: zero
     * when less than one is left, since no timer can be set for less.
     */
    private static Duration left(long deadline) {
        return Duration.ofMillis(Math.max(0, (deadline - System.nanoTime()) / 1_000_000));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /**
     * A write of the document whose outcome is unknown: it may have committed, or commit later. Its keys
     * go now, and again once its change shows up in the change log, for {@code watch} (by then it has
     * committed or never will).
     */
    public void unknownOutcome(String collection, String id, Duration watch) {
        pending.add(collection, id, 0);
        watched.put(new PendingInvalidations.Key(collection, id), System.nanoTime() + watch.toNanos());
        changes.announce(new Change(collection, id, 0))
                .subscribe()
                .with(ok -> {}, failure -> LOG.debugf("announcement of %s/%s failed: %s", collection, id, failure));
    }

    /** The document's keys were removed while it was marked {@code mark}: resolve that mark and confirm its change. */
    private void repaired(PendingInvalidations.Key key, PendingInvalidations.Mark mark) {
        if (watched.containsKey(key)) {
            // the write may still commit: keep reading storage until its change is known
            return;
        }
        pending.resolved(key, mark);
        if (mark.version() > 0) {
            confirmLater(new Change(key.collection(), key.id(), mark.version()));
        }
        LOG.debugf("cache entry of %s/%s invalidated after a failed write-through", key.collection(), key.id());
    }

    /** The listener was (re)connected: announcements may have been missed, so take up every unconfirmed change. */
    private void catchUp() {
        scan(Duration.ZERO, null);
    }

    /** Retries pending invalidations and takes up changes whose write-through nobody confirmed. */
    private void sweep() {
        for (Map.Entry<PendingInvalidations.Key, PendingInvalidations.Mark> mark :
                pending.snapshot().entrySet()) {
            PendingInvalidations.Key key = mark.getKey();
            Duration repair = config.redis().repairTimeout();
            invalidate(key.collection(), key.id(), "-", repair, repair.plus(config.replicaAckTimeout()))
                    .subscribe()
                    .with(
                            ok -> {
                                if (ok) {
                                    repaired(key, mark.getValue());
                                }
                            },
                            failure -> LOG.debugf(
                                    "invalidation of %s/%s still pending: %s", key.collection(), key.id(), failure));
        }
        watched.forEach((key, until) -> {
            if (System.nanoTime() > until) {
                watched.remove(key, until);
            }
        });
        scan(config.unconfirmedChangeAge(), null);
    }

    /** Marks every unconfirmed change older than {@code age}, page after page. */
    private void scan(Duration age, Change after) {
        changes.unconfirmed(age, after, PAGE)
                .subscribe()
                .with(
                        found -> {
                            for (Change change : found) {
                                PendingInvalidations.Key key =
                                        new PendingInvalidations.Key(change.collection(), change.id());
                                if (watched.remove(key) != null) {
                                    LOG.debugf(
                                            "write of %s/%s with an unknown outcome did commit (version %d)",
                                            change.collection(), change.id(), change.version());
                                }
                                pending.add(change.collection(), change.id(), change.version());
                            }
                            if (found.size() == PAGE) {
                                scan(age, found.get(found.size() - 1));
                            }
                        },
                        failure -> LOG.debugf("change log not readable: %s", failure));
    }

    private void confirmChanges() {
        List<Change> batch = new ArrayList<>();
        Change change;
        while (batch.size() < 1000 && (change = toConfirm.poll()) != null) {
            batch.add(change);
        }
        if (!batch.isEmpty()) {
            // an unconfirmed change is found again by the sweep: a lost confirmation costs one miss
            changes.confirm(batch)
                    .subscribe()
                    .with(ok -> {}, failure -> LOG.debugf("confirming %d changes failed: %s", batch.size(), failure));
        }
    }
}
