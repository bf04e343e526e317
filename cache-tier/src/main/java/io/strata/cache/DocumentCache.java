package io.strata.cache;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheStatus.Forward;
import io.strata.storage.ChangeLog;
import io.strata.storage.Document;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Page;
import io.strata.storage.Precondition;
import io.strata.storage.StorageException;
import io.strata.storage.StorageUnavailableException;
import io.strata.storage.WriteResult;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * The cache tier: documents read through a Redis Cluster in front of the storage port, with a
 * versioned protocol that never lets an older version replace a newer one, and that makes Strata
 * more available than its storage, never less.
 *
 * <h2>Entries</h2>
 * A document's entry is a Redis hash: {@code v} (version), {@code f} (fresh until, epoch ms) and
 * {@code b} (body bytes, exactly as stored). An entry without {@code b} is negative: the document is
 * absent, and {@code v} is the version of its deletion (0 if it never existed). The key outlives its
 * freshness by the stale window. Next to the entry lives the document's fill token. Both keys share
 * the document's hash tag (see {@link CacheKeys}).
 *
 * <h2>Who may write what</h2>
 * <ul>
 * <li>A reader that misses takes the fill token ({@code SET NX}: a lease), reads storage, and runs
 * {@link Scripts#FILL}: the entry is stored only if its token is still there and the cached version
 * is not newer. Readers that find the lease taken wait briefly for the holder's fill, then read the
 * cache; concurrent misses within this instance wait for one load and then read the cache.</li>
 * <li>A writer commits to storage first (which records the change in the storage change log in the
 * same transaction), then runs {@link Scripts#WRITE}: it deletes the fill token and stores its
 * version unless a newer one is cached. A delete stores a negative entry (tombstone).</li>
 * </ul>
 *
 * <h2>Why no older version can win</h2>
 * A fill whose storage read came before a write's commit took its token before that commit, hence
 * before the write's script deleted it; the token is gone (or another reader's) and the fill is
 * discarded, however long it took. This does not depend on a tombstone surviving in Redis.
 * Set-if-not-older additionally orders write-throughs of one document that reach Redis out of order.
 * A reader that waited for another's load never takes that load's answer: it reads the cache, whose
 * entries are never older than a write acknowledged before the read.
 *
 * <h2>When Redis or storage fail</h2>
 * Every Redis call runs under a per-master timeout, bulkhead and circuit breaker ({@link RedisGuards});
 * a failed call sends the request to storage. A write whose write-through fails is still acknowledged:
 * its change stays unconfirmed in the change log, this instance bypasses the cache for the document,
 * other instances are told through the change log's announcements, and any instance removes the
 * document's keys as soon as Redis answers. When storage fails, entries past their freshness are
 * served within the stale-if-error window.
 */
@ApplicationScoped
public class DocumentCache {

    private static final Logger LOG = Logger.getLogger(DocumentCache.class);
    private static final Duration POLL = Duration.ofMillis(10);
    /** How often a change is computed again when concurrent writes keep replacing the version it read. */
    private static final int MAX_UPDATE_ATTEMPTS = 5;

    private final Redis redis;
    private final DocumentStore store;
    private final ChangeLog changes;
    private final CacheConfig config;
    private final CacheHooks hooks;
    private final Vertx vertx;
    private final CacheKeys keys;
    private final ClusterTopology topology;
    private final RedisGuards guards;
    private final NodeClients nodes;
    private final PendingInvalidations pending = new PendingInvalidations();
    private final StorageReads storageReads;
    private final Map<PendingInvalidations.Key, CompletableFuture<Void>> loads = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<ChangeLog.Change> toConfirm = new ConcurrentLinkedQueue<>();
    private final Counter hits;
    private final Counter negativeHits;
    private final Counter staleHits;
    private final Counter misses;
    private final Counter bypasses;
    private final Counter fillsStored;
    private final Counter fillsDiscarded;
    private final Counter fillsRejected;
    private final Counter coalesced;
    private final Counter leaseWaits;
    private final Counter writeThroughs;
    private final Counter writeThroughFailures;
    private final Counter tombstones;
    private final Counter nearHits;
    private final Counter nearMisses;
    /** The near cache and its invalidation channel; {@code null} when disabled. */
    private final NearCache near;
    private final InvalidationChannel nearChannel;
    private long sweepTimer = -1;
    private long confirmTimer = -1;

    public DocumentCache(Redis redis, DocumentStore store, ChangeLog changes, CacheConfig config, CacheHooks hooks,
            Vertx vertx, MeterRegistry registry, RedisOptionsCapture redisOptions) {
        this.redis = redis;
        this.store = store;
        this.changes = changes;
        this.config = config;
        this.hooks = hooks;
        this.vertx = vertx;
        this.keys = new CacheKeys(config.keyPrefix());
        this.topology = new ClusterTopology(redis, config.topologyRefreshInterval());
        this.guards = new RedisGuards(config.redis(), registry);
        Supplier<io.vertx.redis.client.RedisOptions> redisOptionsSupplier = redisOptions::options;
        this.nodes = new NodeClients(redis, vertx, redisOptionsSupplier, topology);
        this.storageReads = new StorageReads(store);
        this.hits = registry.counter("strata.cache.reads", "result", "hit");
        this.negativeHits = registry.counter("strata.cache.reads", "result", "negative_hit");
        this.staleHits = registry.counter("strata.cache.reads", "result", "stale");
        this.misses = registry.counter("strata.cache.reads", "result", "miss");
        this.bypasses = registry.counter("strata.cache.reads", "result", "bypass");
        this.fillsStored = registry.counter("strata.cache.fills", "result", "stored");
        this.fillsDiscarded = registry.counter("strata.cache.fills", "result", "discarded");
        this.fillsRejected = registry.counter("strata.cache.fills", "result", "rejected_older");
        this.coalesced = registry.counter("strata.cache.coalesced_loads");
        this.leaseWaits = registry.counter("strata.cache.lease_waits");
        this.writeThroughs = registry.counter("strata.cache.write_throughs", "result", "ok");
        this.writeThroughFailures = registry.counter("strata.cache.write_throughs", "result", "failed");
        this.tombstones = registry.counter("strata.cache.tombstones");
        registry.gauge("strata.cache.pending_invalidations", pending, PendingInvalidations::size);
        this.nearHits = registry.counter("strata.cache.near.reads", "result", "hit");
        this.nearMisses = registry.counter("strata.cache.near.reads", "result", "miss");
        if (config.near().enabled()) {
            this.near = new NearCache(config.near());
            this.nearChannel = new InvalidationChannel(config.keyPrefix() + ":" + CacheKeys.FORMAT + ":near-invalidations",
                    vertx.getDelegate(), () -> {
                        io.vertx.redis.client.RedisOptions options = redisOptions.options();
                        return options == null ? new io.vertx.redis.client.RedisOptions() : options.setPoolName("strata-near");
                    }, topology::masters, near, registry);
            registry.gauge("strata.cache.near.entries", near, NearCache::size);
        } else {
            this.near = null;
            this.nearChannel = null;
        }
    }

    @PostConstruct
    void start() {
        changes.onAnnouncement(change -> {
            pending.add(change.collection(), change.id(), change.version());
            if (near != null) {
                near.invalidate(keys.entry(change.collection(), change.id()));
            }
        });
        if (nearChannel != null) {
            nearChannel.start();
        }
        sweepTimer = vertx.setPeriodic(config.invalidationRetryInterval().toMillis(), tick -> sweep());
        confirmTimer = vertx.setPeriodic(100, tick -> confirmChanges());
    }

    /**
     * At start, before the first request: load the slot map and open a connection to every master,
     * so that the first requests do not pay for it (and time out). Bounded: Redis being away only
     * delays the start by the bound.
     */
    void warm(@jakarta.enterprise.event.Observes io.quarkus.runtime.StartupEvent event) {
        try {
            topology.load().flatMap(nodes::connect).await().atMost(Duration.ofSeconds(3));
        } catch (RuntimeException e) {
            LOG.infof("Redis not reachable at start (%s); the cache is bypassed until it is", e.toString());
        }
    }

    @PreDestroy
    void stop() {
        vertx.cancelTimer(sweepTimer);
        vertx.cancelTimer(confirmTimer);
        if (nearChannel != null) {
            nearChannel.stop();
        }
        nodes.close();
    }

    // ---------------------------------------------------------------- reads

    /**
     * Reads one document through the cache. A read that accepts staleness ({@link ReadOptions#maxStale()},
     * or the collection's default) may be answered from the near cache; any other read, and a near
     * miss, is strict: never older than a write acknowledged before it began. A near-cache hit makes
     * no span of its own (it touches neither Redis nor storage); a strict read is the
     * {@code strata.cache.read} span.
     */
    public Uni<CachedLookup> read(String collection, String id, ReadOptions options) {
        Duration maxStale = near == null || options.revalidate() ? null
                : options.maxStale() != null ? options.maxStale() : config.near().defaultMaxStale().get(collection);
        if (maxStale == null || maxStale.isZero()) {
            return strictRead(collection, id, options);
        }
        String entryKey = keys.entry(collection, id);
        Lookup held = near.get(entryKey, maxStale);
        if (held != null) {
            nearHits.increment();
            return Uni.createFrom().item(new CachedLookup(held, CacheStatus.NEAR_HIT));
        }
        nearMisses.increment();
        long readAt = NearCache.now();
        return strictRead(collection, id, options).map(read -> {
            // a stale serve is not an answer the staleness bound can start from
            boolean stored = read.status().staleBy() == null && near.offer(entryKey, read.lookup(), readAt);
            return new CachedLookup(read.lookup(), read.status().nearMiss(stored));
        });
    }

    @WithSpan("strata.cache.read")
    Uni<CachedLookup> strictRead(String collection, String id, ReadOptions options) {
        if (pending.contains(collection, id)) {
            return bypass(collection, id);
        }
        if (options.revalidate()) {
            return revalidate(collection, id);
        }
        String entryKey = keys.entry(collection, id);
        String node = topology.ownerNow(entryKey);
        return guards.call(node, "lookup", () -> nodes.send(node, lookup(entryKey)))
                .onItemOrFailure().transformToUni((response, failure) -> {
                    if (failure != null) {
                        LOG.debugf("cache read of %s/%s failed (%s); reading storage", collection, id, failure);
                        return bypass(collection, id);
                    }
                    Entry entry = Entry.decode(collection, id, response);
                    if (entry == null) {
                        misses.increment();
                        return load(collection, id, Forward.MISS);
                    }
                    long staleMillis = System.currentTimeMillis() - entry.freshUntil();
                    if (staleMillis < 0) {
                        (entry.lookup() instanceof Lookup.Found ? hits : negativeHits).increment();
                        return Uni.createFrom().item(new CachedLookup(entry.lookup(), CacheStatus.HIT));
                    }
                    return stale(collection, id, entry, Duration.ofMillis(staleMillis), options);
                });
    }

    /** An entry past its freshness: served at once while refreshed, or revalidated, or served if storage fails. */
    private Uni<CachedLookup> stale(String collection, String id, Entry entry, Duration staleBy, ReadOptions options) {
        if (staleBy.compareTo(config.staleWhileRevalidate()) <= 0) {
            staleHits.increment();
            load(collection, id, Forward.STALE).subscribe().with(ignored -> {
            }, failure -> LOG.debugf("background refresh of %s/%s failed: %s", collection, id, failure));
            return Uni.createFrom().item(new CachedLookup(entry.lookup(),
                    CacheStatus.stale(staleBy, "stale-while-revalidate")));
        }
        Duration tolerance = options.staleIfError() == null || options.staleIfError().compareTo(config.staleIfError()) > 0
                ? config.staleIfError() : options.staleIfError();
        return load(collection, id, Forward.STALE)
                .onFailure(StorageUnavailableException.class).recoverWithUni(failure -> {
                    if (staleBy.compareTo(tolerance) > 0) {
                        return Uni.createFrom().failure(failure);
                    }
                    staleHits.increment();
                    return Uni.createFrom().item(new CachedLookup(entry.lookup(), CacheStatus.stale(staleBy, "stale-if-error")));
                });
    }

    private Uni<CachedLookup> bypass(String collection, String id) {
        bypasses.increment();
        return storageReads.read(collection, id)
                .map(lookup -> new CachedLookup(lookup, CacheStatus.forwarded(Forward.BYPASS, false)));
    }

    /** {@code no-cache}: read storage now and refresh the cache (taking the fill token over from any holder). */
    private Uni<CachedLookup> revalidate(String collection, String id) {
        String token = newToken();
        String tokenKey = keys.fillToken(collection, id);
        String node = topology.ownerNow(tokenKey);
        return guards.call(node, "revalidate", () -> nodes.send(node, Request.cmd(Command.SET).arg(tokenKey).arg(token)
                        .arg("PX").arg(config.fillTokenTtl().toMillis())))
                .map(ok -> true).onFailure().recoverWithItem(false)
                .flatMap(taken -> taken ? fill(collection, id, token, Forward.REQUEST)
                        : storageOnly(collection, id, Forward.REQUEST));
    }

    /**
     * A miss or a stale entry: one load per document at a time in this instance. Readers that arrive
     * while a load runs wait for it and then read the cache, never the load's own answer (its storage
     * read may predate a write acknowledged before they arrived).
     */
    private Uni<CachedLookup> load(String collection, String id, Forward forward) {
        PendingInvalidations.Key key = new PendingInvalidations.Key(collection, id);
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture<Void> running = loads.putIfAbsent(key, done);
        if (running != null) {
            coalesced.increment();
            return Uni.createFrom().completionStage(running)
                    .onItemOrFailure().transformToUni((ignored, failure) -> leaseAndFill(collection, id, forward,
                            System.nanoTime() + config.leaseWait().toNanos()));
        }
        return leaseAndFill(collection, id, forward, System.nanoTime() + config.leaseWait().toNanos())
                .onTermination().invoke(() -> {
                    loads.remove(key, done);
                    done.complete(null);
                });
    }

    /**
     * Takes the fill lease and fills, or waits for the holder's fill until {@code deadline}. Taking
     * the lease and looking at the entry are one script, so a reader that missed just before another
     * reader's fill landed finds the entry instead of reading storage again.
     */
    private Uni<CachedLookup> leaseAndFill(String collection, String id, Forward forward, long deadline) {
        String token = newToken();
        List<String> leaseKeys = fillKeys(collection, id);
        String node = topology.ownerNow(leaseKeys.get(0));
        return guards.call(node, "lease", () -> Scripts.LEASE.run(request -> nodes.send(node, request), leaseKeys, token,
                        config.fillTokenTtl().toMillis(), System.currentTimeMillis()))
                .onItemOrFailure().transformToUni((response, failure) -> {
                    if (failure != null) {
                        return storageOnly(collection, id, forward);
                    }
                    int outcome = response.get(0).toInteger();
                    if (outcome == 2) {
                        Lookup lookup = response.size() > 3 && response.get(3) != null
                                ? new Lookup.Found(new Document(collection, id, Long.parseLong(response.get(1).toString()),
                                        response.get(3).toBytes()))
                                : Lookup.absent(collection, id, Long.parseLong(response.get(1).toString()));
                        return Uni.createFrom().item(new CachedLookup(lookup, CacheStatus.collapsed(forward)));
                    }
                    if (outcome == 0) {
                        leaseWaits.increment();
                        return waitForFill(collection, id, forward, deadline);
                    }
                    return fill(collection, id, token, forward);
                });
    }

    /** Another reader holds the lease: poll the entry until it appears, the lease is free, or time is up. */
    private Uni<CachedLookup> waitForFill(String collection, String id, Forward forward, long deadline) {
        if (System.nanoTime() > deadline) {
            return storageOnly(collection, id, forward);
        }
        String entryKey = keys.entry(collection, id);
        String tokenKey = keys.fillToken(collection, id);
        String node = topology.ownerNow(entryKey);
        return Uni.createFrom().voidItem().onItem().delayIt().by(POLL)
                .flatMap(ignored -> guards.call(node, "lease_wait",
                        () -> nodes.batch(node, List.of(lookup(entryKey), Request.cmd(Command.EXISTS).arg(tokenKey)))))
                .onItemOrFailure().transformToUni((responses, failure) -> {
                    if (failure != null) {
                        return storageOnly(collection, id, forward);
                    }
                    Entry entry = Entry.decode(collection, id, responses.get(0));
                    if (entry != null && entry.freshUntil() > System.currentTimeMillis()) {
                        return Uni.createFrom().item(new CachedLookup(entry.lookup(), CacheStatus.collapsed(forward)));
                    }
                    if (responses.get(1).toInteger() == 0) {
                        return leaseAndFill(collection, id, forward, deadline);
                    }
                    return waitForFill(collection, id, forward, deadline);
                });
    }

    private Uni<CachedLookup> storageOnly(String collection, String id, Forward forward) {
        return storageReads.read(collection, id).map(lookup -> new CachedLookup(lookup, CacheStatus.forwarded(forward, false)));
    }

    /** Holding the token: read storage, then store what was read if the token is still ours. */
    private Uni<CachedLookup> fill(String collection, String id, String token, Forward forward) {
        List<String> fillKeys = fillKeys(collection, id);
        String node = topology.ownerNow(fillKeys.get(0));
        return store.read(collection, id)
                .onFailure().call(failure -> guards.call(node, "release",
                                () -> Scripts.RELEASE.run(request -> nodes.send(node, request), List.of(fillKeys.get(1)), token))
                        .onFailure().recoverWithNull())
                .flatMap(lookup -> hooks.runBeforeStore(collection, id)
                .flatMap(ignored -> guards.call(node, "fill",
                        () -> Scripts.FILL.run(request -> nodes.send(node, request), fillKeys, fillArgs(token, lookup))))
                .map(result -> {
                    int outcome = result.toInteger();
                    (outcome == 1 ? fillsStored : outcome == -1 ? fillsRejected : fillsDiscarded).increment();
                    return outcome == 1;
                })
                .onFailure().recoverWithItem(false)
                .map(stored -> new CachedLookup(lookup, CacheStatus.forwarded(forward, stored))));
    }

    // ---------------------------------------------------------------- batch reads

    /**
     * Reads many documents of one collection: one pipeline per Redis node to look the entries up,
     * one storage query for the misses, one pipeline per node to take their fill tokens and one to
     * fill them. Bodies are collected in request order until {@code maxBytes}; later documents are
     * returned as unprocessed. A body larger than its fair share of the budget is not pulled in the
     * first pipeline, so memory stays bounded by the budget for cached documents. Entries past their
     * freshness are served as they are: the protocol keeps them no older than any acknowledged write.
     */
    @WithSpan("strata.cache.read_many")
    public Uni<BatchLookup> readMany(String collection, List<String> requestedIds, long maxBytes) {
        List<String> ids = new ArrayList<>(new LinkedHashSet<>(requestedIds));
        if (ids.isEmpty()) {
            return Uni.createFrom().item(new BatchLookup(List.of(), List.of(), List.of()));
        }
        long inlineLimit = Math.max(1, maxBytes / ids.size());
        List<String> entries = ids.stream().map(id -> keys.entry(collection, id)).toList();
        BatchState state = new BatchState(collection, ids, maxBytes);
        return pipeline(entries, i -> pending.contains(collection, ids.get(i)) ? null
                        : (withSource -> Scripts.PEEK.build(withSource, List.of(entries.get(i)), inlineLimit)))
                .onItemOrFailure().transformToUni((responses, failure) -> {
                    if (failure != null) {
                        LOG.debugf("batch cache read failed (%s); reading storage", failure);
                        state.allFromStorage = true;
                    } else {
                        state.peeked(responses);
                    }
                    return loadMisses(state);
                })
                .flatMap(ignored -> assemble(state, maxBytes));
    }

    /** What a batch read knows about each id, by position. */
    private static final class BatchState {
        final String collection;
        final List<String> ids;
        final Lookup[] lookups;
        /** Cached body length of entries whose body was too large to pull at first. */
        final long[] largeLength;
        /** Documents storage has but did not send, their bodies being over the budget. */
        final boolean[] deferred;
        final long maxBytes;
        boolean allFromStorage;

        BatchState(String collection, List<String> ids, long maxBytes) {
            this.collection = collection;
            this.ids = ids;
            this.maxBytes = maxBytes;
            this.lookups = new Lookup[ids.size()];
            this.largeLength = new long[ids.size()];
            this.deferred = new boolean[ids.size()];
        }

        void peeked(List<Response> responses) {
            for (int i = 0; i < ids.size(); i++) {
                Response r = responses.get(i);
                if (r == null || r.size() == 0) {
                    continue;
                }
                long version = Long.parseLong(r.get(0).toString());
                long length = r.get(1).toLong();
                if (length == 0) {
                    lookups[i] = Lookup.absent(collection, ids.get(i), version);
                } else if (r.size() == 2) {
                    largeLength[i] = length;
                } else {
                    lookups[i] = new Lookup.Found(new Document(collection, ids.get(i), version, r.get(2).toBytes()));
                }
            }
        }

        boolean needsStorage(int i) {
            return lookups[i] == null && largeLength[i] == 0;
        }
    }

    private Uni<Void> loadMisses(BatchState state) {
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < state.ids.size(); i++) {
            if (state.needsStorage(i)) {
                missing.add(i);
            }
        }
        if (missing.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        String collection = state.collection;
        String[] tokens = new String[missing.size()];
        List<String> tokenKeys = missing.stream().map(i -> keys.fillToken(collection, state.ids.get(i))).toList();
        Uni<boolean[]> takeTokens = state.allFromStorage ? Uni.createFrom().item(new boolean[missing.size()])
                : pipeline(tokenKeys, m -> {
                    if (pending.contains(collection, state.ids.get(missing.get(m)))) {
                        return null;
                    }
                    tokens[m] = newToken();
                    return withSource -> Request.cmd(Command.SET).arg(tokenKeys.get(m)).arg(tokens[m])
                            .arg("PX").arg(config.fillTokenTtl().toMillis());
                }).map(responses -> {
                    boolean[] taken = new boolean[missing.size()];
                    for (int m = 0; m < taken.length; m++) {
                        taken[m] = responses.get(m) != null;
                    }
                    return taken;
                }).onFailure().recoverWithItem(() -> new boolean[missing.size()]);
        return takeTokens.flatMap(taken -> store.readMany(collection, missing.stream().map(state.ids::get).toList(), state.maxBytes)
                .flatMap(read -> {
                    Map<String, Lookup> found = read.lookups();
                    for (int i : missing) {
                        state.lookups[i] = found.get(state.ids.get(i));
                        state.deferred[i] = state.lookups[i] == null;
                    }
                    List<String> fillEntries = missing.stream().map(i -> keys.entry(collection, state.ids.get(i))).toList();
                    return pipeline(fillEntries, m -> {
                        if (!taken[m]) {
                            return null;
                        }
                        String id = state.ids.get(missing.get(m));
                        Lookup lookup = found.get(id);
                        // a body storage did not send (over the budget) cannot be filled: hand the lease back
                        return lookup == null
                                ? withSource -> Scripts.RELEASE.build(withSource, List.of(keys.fillToken(collection, id)), tokens[m])
                                : withSource -> Scripts.FILL.build(withSource, fillKeys(collection, id), fillArgs(tokens[m], lookup));
                    }).onFailure().recoverWithItem(List.of()).replaceWithVoid();
                }));
    }

    private Uni<BatchLookup> assemble(BatchState state, long maxBytes) {
        List<Integer> toFetch = new ArrayList<>();
        long budget = maxBytes;
        boolean exhausted = false;
        boolean[] unprocessed = new boolean[state.ids.size()];
        int included = 0;
        for (int i = 0; i < state.ids.size(); i++) {
            if (state.deferred[i]) {
                exhausted = true;
                unprocessed[i] = true;
                continue;
            }
            long size = state.lookups[i] instanceof Lookup.Found f ? f.document().body().length : state.largeLength[i];
            if (size == 0) {
                continue;
            }
            if (exhausted || (size > budget && included > 0)) {
                exhausted = true;
                unprocessed[i] = true;
                continue;
            }
            budget -= size;
            included++;
            if (state.lookups[i] == null) {
                toFetch.add(i);
            }
        }
        Uni<Void> fetched = toFetch.isEmpty() ? Uni.createFrom().voidItem()
                : pipeline(toFetch.stream().map(i -> keys.entry(state.collection, state.ids.get(i))).toList(),
                        f -> withSource -> lookup(keys.entry(state.collection, state.ids.get(toFetch.get(f)))))
                        .onFailure().recoverWithItem(List.of())
                        .invoke(responses -> {
                            for (int f = 0; f < toFetch.size(); f++) {
                                int i = toFetch.get(f);
                                Entry entry = f < responses.size()
                                        ? Entry.decode(state.collection, state.ids.get(i), responses.get(f)) : null;
                                if (entry != null && entry.lookup() instanceof Lookup.Found) {
                                    state.lookups[i] = entry.lookup();
                                } else {
                                    // evicted or deleted between the two pipelines: let the client ask again
                                    unprocessed[i] = true;
                                }
                            }
                        }).replaceWithVoid();
        return fetched.map(ignored -> {
            List<Document> found = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            List<String> later = new ArrayList<>();
            for (int i = 0; i < state.ids.size(); i++) {
                if (unprocessed[i]) {
                    later.add(state.ids.get(i));
                } else if (state.lookups[i] instanceof Lookup.Found f) {
                    found.add(f.document());
                } else {
                    missing.add(state.ids.get(i));
                }
            }
            return new BatchLookup(found, missing, later);
        });
    }

    // ---------------------------------------------------------------- writes

    public Uni<WriteResult> put(String collection, String id, byte[] body, Precondition precondition) {
        return store.put(collection, id, body, precondition).call(this::writeThrough);
    }

    /**
     * Changes a document with {@code change} applied to its current body: read, change (outside any
     * transaction and lock, so that the work and memory of the change never hold a row lock), then
     * write only if the document is still at the version read. When another write came in between and
     * the caller named no version, the change is made again on the new version (a few times).
     */
    public Uni<WriteResult> update(String collection, String id, Precondition precondition, UnaryOperator<byte[]> change) {
        return update(collection, id, precondition, change, 1);
    }

    private Uni<WriteResult> update(String collection, String id, Precondition precondition, UnaryOperator<byte[]> change,
            int attempt) {
        return store.read(collection, id).flatMap(current -> {
            Long live = current instanceof Lookup.Found found ? found.version() : null;
            if (!precondition.allows(live)) {
                return Uni.createFrom().failure(new StorageException.PreconditionFailed());
            }
            if (live == null) {
                return Uni.createFrom().failure(new StorageException.NotFound());
            }
            byte[] next = change.apply(((Lookup.Found) current).document().body());
            return store.put(collection, id, next, Precondition.ifMatch(live)).call(this::writeThrough)
                    .onFailure(StorageException.PreconditionFailed.class).recoverWithUni(conflict -> {
                        if (precondition.namesVersions()) {
                            return Uni.createFrom().failure(conflict);
                        }
                        if (attempt >= MAX_UPDATE_ATTEMPTS) {
                            return Uni.createFrom().failure(new StorageException.Conflict());
                        }
                        return update(collection, id, precondition, change, attempt + 1);
                    });
        });
    }

    public Uni<WriteResult> delete(String collection, String id, Precondition precondition) {
        return store.delete(collection, id, precondition).call(this::writeThrough);
    }

    /** A page of a collection, read from storage (lists are not cached), of at most {@code maxBytes} of bodies. */
    public Uni<Page> list(String collection, String afterId, int limit, long maxBytes) {
        return store.list(collection, afterId, limit, maxBytes);
    }

    @WithSpan("strata.cache.write_through")
    Uni<Void> writeThrough(WriteResult write) {
        List<String> writeKeys = fillKeys(write.collection(), write.id());
        if (near != null) {
            // before the write is acknowledged: this instance never answers an older version from L1
            near.invalidate(writeKeys.get(0));
        }
        long now = System.currentTimeMillis();
        Object[] args = write.deleted()
                ? new Object[] { write.version(), now + config.negativeTtl().toMillis(), keyTtl(config.negativeTtl().toMillis()),
                        config.writeFloorTtl().toMillis(), nearChannel(), nearMessage(writeKeys.get(0)) }
                : writeArgs(write, now, writeKeys.get(0));
        String node = topology.ownerNow(writeKeys.get(0));
        Uni<Boolean> cached = hooks.runBeforeWriteThrough(write.collection(), write.id()).flatMap(ready -> config.replicaAcks() == 0
                ? guards.call(node, "write_through", () -> Scripts.WRITE.run(request -> nodes.send(node, request), writeKeys, args))
                        .map(ignored -> true)
                : guards.pipeline(node, "write_through", () -> writeAndWait(node, writeKeys, args, false)));
        ChangeLog.Change change = new ChangeLog.Change(write.collection(), write.id(), write.version());
        return cached.onItemOrFailure().transformToUni((acknowledged, failure) -> {
            if (failure == null && acknowledged) {
                writeThroughs.increment();
                if (write.deleted()) {
                    tombstones.increment();
                }
                toConfirm.add(change);
                return Uni.createFrom().voidItem();
            }
            writeThroughFailures.increment();
            // one immediate attempt to remove the old copy (often a new connection succeeds where the
            // write-through's failed); only if that fails too do other instances depend on the announcement
            return invalidateNow(writeKeys, write.version()).flatMap(invalidated -> {
                if (invalidated) {
                    toConfirm.add(change);
                    return Uni.createFrom().voidItem();
                }
                return failedWriteThrough(write, change, failure);
            });
        });
    }

    private Uni<Boolean> invalidateNow(List<String> documentKeys, long version) {
        String node = topology.ownerNow(documentKeys.get(0));
        Object[] args = { version, config.writeFloorTtl().toMillis(), nearChannel(), nearMessage(documentKeys.get(0)) };
        Uni<Boolean> done = config.replicaAcks() == 0
                ? guards.call(node, "invalidate", () -> Scripts.INVALIDATE.run(request -> nodes.send(node, request), documentKeys, args))
                        .map(ignored -> true)
                : guards.pipeline(node, "invalidate", () -> nodes.batch(node, List.of(Scripts.INVALIDATE.build(true, documentKeys, args),
                                Request.cmd(Command.WAIT).arg(config.replicaAcks()).arg(config.replicaAckTimeout().toMillis()))))
                        .map(responses -> responses.get(1).toInteger() >= config.replicaAcks());
        // quick attempts for about 150 ms: a connection that was just cut is usually replaced within milliseconds
        return done.invoke(ok -> {
            if (!ok) {
                throw new IllegalStateException("too few replicas acknowledged the invalidation");
            }
        }).onFailure().retry().withBackOff(Duration.ofMillis(5), Duration.ofMillis(80)).atMost(5).onFailure().recoverWithItem(false);
    }

    /** Neither the write-through nor an invalidation reached Redis: bypass here, tell the others, retry. */
    private Uni<Void> failedWriteThrough(WriteResult write, ChangeLog.Change change, Throwable failure) {
        pending.add(write.collection(), write.id(), write.version());
        LOG.warnf("cache not updated after write of %s/%s version %d (%s); the document bypasses the cache until invalidated",
                write.collection(), write.id(), write.version(),
                failure == null ? "too few replicas acknowledged" : failure.toString());
        return changes.announce(change)
                .onFailure().invoke(f -> LOG.debugf("announcement of %s/%s failed: %s", write.collection(), write.id(), f))
                .onFailure().recoverWithNull().replaceWithVoid();
    }

    private Object[] writeArgs(WriteResult write, long now, String entryKey) {
        long fresh = jitteredTtl();
        return new Object[] { write.version(), now + fresh, keyTtl(fresh), config.writeFloorTtl().toMillis(), nearChannel(),
                nearMessage(entryKey), write.body() };
    }

    /** The near-cache invalidation channel the scripts publish on ({@code ""}: none). */
    private String nearChannel() {
        return nearChannel == null ? "" : nearChannel.channel();
    }

    private String nearMessage(String entryKey) {
        return nearChannel == null ? "" : nearChannel.message(entryKey);
    }

    /** The write-through and a {@code WAIT} on the same connection: true when enough replicas acknowledged. */
    private Uni<Boolean> writeAndWait(String node, List<String> writeKeys, Object[] args, boolean withSource) {
        Request wait = Request.cmd(Command.WAIT).arg(config.replicaAcks()).arg(config.replicaAckTimeout().toMillis());
        return nodes.batch(node, List.of(Scripts.WRITE.build(withSource, writeKeys, args), wait))
                .map(responses -> responses.get(1).toInteger() >= config.replicaAcks())
                .onFailure(f -> !withSource && Scripts.Script.isNoScript(f))
                .recoverWithUni(() -> writeAndWait(node, writeKeys, args, true));
    }

    // ---------------------------------------------------------------- invalidation

    /** Retries pending invalidations and takes up changes whose write-through nobody confirmed. */
    private void sweep() {
        for (Map.Entry<PendingInvalidations.Key, PendingInvalidations.Mark> mark : pending.snapshot().entrySet()) {
            PendingInvalidations.Key key = mark.getKey();
            List<String> invalidateKeys = fillKeys(key.collection(), key.id());
            String node = topology.ownerNow(invalidateKeys.get(0));
            guards.call(node, "invalidate", () -> Scripts.INVALIDATE.run(request -> nodes.send(node, request), invalidateKeys,
                            mark.getValue().version(), config.writeFloorTtl().toMillis(), nearChannel(),
                            nearMessage(invalidateKeys.get(0))))
                    .subscribe().with(
                            ok -> {
                                pending.resolved(key, mark.getValue());
                                if (mark.getValue().version() > 0) {
                                    toConfirm.add(new ChangeLog.Change(key.collection(), key.id(), mark.getValue().version()));
                                }
                                LOG.infof("cache entry of %s/%s invalidated after a failed write-through", key.collection(), key.id());
                            },
                            failure -> LOG.debugf("invalidation of %s/%s still pending: %s", key.collection(), key.id(), failure));
        }
        changes.unconfirmed(config.unconfirmedChangeAge(), 500).subscribe().with(
                unconfirmed -> unconfirmed.forEach(c -> pending.add(c.collection(), c.id(), c.version())),
                failure -> LOG.debugf("change log not readable: %s", failure));
    }

    private void confirmChanges() {
        List<ChangeLog.Change> batch = new ArrayList<>();
        ChangeLog.Change change;
        while (batch.size() < 1000 && (change = toConfirm.poll()) != null) {
            batch.add(change);
        }
        if (!batch.isEmpty()) {
            // unconfirmed changes are found again by the sweep: a lost confirmation costs one miss
            changes.confirm(batch).subscribe().with(ok -> {
            }, failure -> LOG.debugf("confirming %d changes failed: %s", batch.size(), failure));
        }
    }

    /** The number of documents whose invalidation has not reached Redis yet. */
    public int pendingInvalidations() {
        return pending.size();
    }

    /** Circuit-breaker state per current Redis master (only those whose breaker has changed state). */
    public Map<String, CircuitBreakerState> redisBreakers() {
        java.util.Set<String> masters = topology.masters();
        Map<String, CircuitBreakerState> states = new java.util.TreeMap<>();
        guards.states().forEach((name, state) -> {
            if (masters.contains(name.replace("-pipeline", ""))) {
                states.put(name, state);
            }
        });
        return states;
    }

    // ---------------------------------------------------------------- helpers

    private static Request lookup(String entryKey) {
        return Request.cmd(Command.HMGET).arg(entryKey).arg("v").arg("b").arg("f");
    }

    /** The keys of one document, in the order the scripts take them: entry, fill token, version floor. */
    private List<String> fillKeys(String collection, String id) {
        return List.of(keys.entry(collection, id), keys.fillToken(collection, id), keys.floor(collection, id));
    }

    private Object[] fillArgs(String token, Lookup lookup) {
        long now = System.currentTimeMillis();
        if (lookup instanceof Lookup.Found found) {
            long fresh = jitteredTtl();
            return new Object[] { token, found.version(), now + fresh, keyTtl(fresh), found.document().body() };
        }
        long fresh = config.negativeTtl().toMillis();
        return new Object[] { token, lookup.version(), now + fresh, keyTtl(fresh) };
    }

    /** A key lives through its freshness and the stale window after it. */
    private long keyTtl(long freshMillis) {
        return freshMillis + Math.max(config.staleIfError().toMillis(), config.staleWhileRevalidate().toMillis());
    }

    private long jitteredTtl() {
        long ttl = config.ttl().toMillis();
        return ttl + (long) (ttl * config.ttlJitter() * ThreadLocalRandom.current().nextDouble());
    }

    private static String newToken() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong());
    }

    /** A decoded entry. */
    private record Entry(Lookup lookup, long freshUntil) {

        /** An HMGET v b f reply: a hit (document or negative entry) or {@code null} for a miss. */
        static Entry decode(String collection, String id, Response response) {
            if (response == null || response.size() < 3 || response.get(0) == null) {
                return null;
            }
            long version = Long.parseLong(response.get(0).toString());
            Response body = response.get(1);
            long freshUntil = response.get(2) == null ? 0 : Long.parseLong(response.get(2).toString());
            Lookup lookup = body == null ? Lookup.absent(collection, id, version)
                    : new Lookup.Found(new Document(collection, id, version, body.toBytes()));
            return new Entry(lookup, freshUntil);
        }
    }

    /** Builds a request; {@code withSource} asks for EVAL instead of EVALSHA. */
    @FunctionalInterface
    private interface Op {
        Request build(boolean withSource);
    }

    /**
     * Sends one request per key (those for which {@code ops} returns {@code null} are skipped and
     * answer {@code null}), pipelined: one guarded batch per Redis node. A node that lacks a script
     * gets the batch again with the script sources; a batch refused because the slot map moved is
     * sent again request by request (the client follows MOVED for single commands).
     */
    private Uni<List<Response>> pipeline(List<String> keyList, IntFunction<Op> ops) {
        Op[] built = new Op[keyList.size()];
        List<String> sentKeys = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        for (int i = 0; i < keyList.size(); i++) {
            built[i] = ops.apply(i);
            if (built[i] != null) {
                sentKeys.add(keyList.get(i));
                positions.add(i);
            }
        }
        Response[] out = new Response[keyList.size()];
        if (sentKeys.isEmpty()) {
            return Uni.createFrom().item(Arrays.asList(out));
        }
        return topology.groupByNode(sentKeys).flatMap(groups -> {
            List<Uni<Void>> sends = new ArrayList<>(groups.size());
            for (List<Integer> group : groups) {
                List<Integer> indexes = group.stream().map(positions::get).toList();
                String node = topology.ownerNow(keyList.get(indexes.get(0)));
                sends.add(guards.pipeline(node, "batch", () -> sendGroup(node, indexes, built, false)).invoke(responses -> {
                    for (int g = 0; g < indexes.size(); g++) {
                        out[indexes.get(g)] = responses.get(g);
                    }
                }).replaceWithVoid());
            }
            return Uni.join().all(sends).andFailFast().map(ignored -> Arrays.asList(out));
        });
    }

    private Uni<List<Response>> sendGroup(String node, List<Integer> indexes, Op[] ops, boolean withSource) {
        List<Request> requests = indexes.stream().map(i -> ops[i].build(withSource)).toList();
        return nodes.batch(node, requests).onFailure().recoverWithUni(failure -> {
            if (!withSource && Scripts.Script.isNoScript(failure)) {
                return sendGroup(node, indexes, ops, true);
            }
            topology.invalidate();
            List<Uni<Response>> singles = indexes.stream().map(i -> redis.send(ops[i].build(true))).toList();
            return Uni.join().all(singles).andFailFast();
        });
    }
}
