package io.strata.cache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheStatus.Forward;
import io.strata.storage.Document;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Page;
import io.strata.storage.Precondition;
import io.strata.storage.WriteResult;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * The cache tier: documents read through a Redis Cluster in front of the storage port, with a
 * versioned protocol that never lets an older version replace a newer one.
 *
 * <h2>Entries</h2>
 * A document's entry is a Redis hash {@code v} (version) and {@code b} (body bytes, exactly as
 * stored). An entry without {@code b} is negative: the document is absent, and {@code v} is the
 * version of its deletion (0 if it never existed). Next to the entry lives the document's fill token.
 * Both keys share the document's hash tag (see {@link CacheKeys}).
 *
 * <h2>Who may write what</h2>
 * <ul>
 * <li>A reader that misses sets a fresh random fill token, then reads storage, then runs
 * {@link Scripts#FILL}: the entry is stored only if its token is still there and the cached version
 * is not newer.</li>
 * <li>A writer commits to storage first, then runs {@link Scripts#WRITE}: it deletes the fill token
 * and stores its version unless a newer one is cached. A delete stores a negative entry (tombstone)
 * with the deletion's version.</li>
 * </ul>
 *
 * <h2>Why no older version can win</h2>
 * A fill whose storage read came before a write's commit set its token before that commit, hence
 * before the write's script deleted it; the token is gone (or replaced by another reader's) and the
 * fill is discarded, however long it took. This does not depend on a tombstone surviving in Redis:
 * a fill needs its own token, not the absence of a tombstone. Set-if-not-older additionally orders
 * write-throughs of one document that reach Redis out of order.
 *
 * <p>When Redis cannot be updated after a commit the write still succeeds; the document is marked
 * pending, reads of it here bypass the cache, and its keys are deleted as soon as Redis answers.
 */
@ApplicationScoped
public class DocumentCache {

    private static final Logger LOG = Logger.getLogger(DocumentCache.class);

    private final Redis redis;
    private final DocumentStore store;
    private final CacheConfig config;
    private final FillHooks hooks;
    private final Vertx vertx;
    private final CacheKeys keys;
    private final ClusterTopology topology;
    private final PendingInvalidations pending = new PendingInvalidations();
    private final Counter hits;
    private final Counter negativeHits;
    private final Counter misses;
    private final Counter fillsStored;
    private final Counter fillsDiscarded;
    private final Counter writeThroughs;
    private final Counter writeThroughFailures;
    private final Counter bypasses;
    private long retryTimer = -1;

    public DocumentCache(Redis redis, DocumentStore store, CacheConfig config, FillHooks hooks, Vertx vertx,
            MeterRegistry registry) {
        this.redis = redis;
        this.store = store;
        this.config = config;
        this.hooks = hooks;
        this.vertx = vertx;
        this.keys = new CacheKeys(config.keyPrefix());
        this.topology = new ClusterTopology(redis, config.topologyRefreshInterval());
        this.hits = registry.counter("strata.cache.reads", "result", "hit");
        this.negativeHits = registry.counter("strata.cache.reads", "result", "negative_hit");
        this.misses = registry.counter("strata.cache.reads", "result", "miss");
        this.bypasses = registry.counter("strata.cache.reads", "result", "bypass");
        this.fillsStored = registry.counter("strata.cache.fills", "result", "stored");
        this.fillsDiscarded = registry.counter("strata.cache.fills", "result", "discarded");
        this.writeThroughs = registry.counter("strata.cache.write_throughs", "result", "ok");
        this.writeThroughFailures = registry.counter("strata.cache.write_throughs", "result", "failed");
        registry.gauge("strata.cache.pending_invalidations", pending, PendingInvalidations::size);
    }

    @PostConstruct
    void startRetries() {
        retryTimer = vertx.setPeriodic(config.invalidationRetryInterval().toMillis(), tick -> retryInvalidations());
    }

    @PreDestroy
    void stopRetries() {
        if (retryTimer >= 0) {
            vertx.cancelTimer(retryTimer);
        }
    }

    // ---------------------------------------------------------------- reads

    /**
     * Reads one document through the cache.
     *
     * @param revalidate skip the cached entry, read storage and refresh the cache ({@code no-cache})
     */
    public Uni<CachedLookup> read(String collection, String id, boolean revalidate) {
        if (pending.contains(collection, id)) {
            return bypass(collection, id);
        }
        if (revalidate) {
            return fill(collection, id, Forward.REQUEST);
        }
        String entry = keys.entry(collection, id);
        return redis.send(Request.cmd(Command.HMGET).arg(entry).arg("v").arg("b"))
                .onItemOrFailure().transformToUni((response, failure) -> {
                    if (failure != null) {
                        LOG.debugf(failure, "cache read failed for %s/%s; reading storage", collection, id);
                        return bypass(collection, id);
                    }
                    Lookup cached = decodeEntry(collection, id, response);
                    if (cached == null) {
                        misses.increment();
                        return fill(collection, id, Forward.MISS);
                    }
                    (cached instanceof Lookup.Found ? hits : negativeHits).increment();
                    return Uni.createFrom().item(new CachedLookup(cached, CacheStatus.HIT));
                });
    }

    private Uni<CachedLookup> bypass(String collection, String id) {
        bypasses.increment();
        return store.read(collection, id)
                .map(lookup -> new CachedLookup(lookup, CacheStatus.forwarded(Forward.BYPASS, false)));
    }

    private Uni<CachedLookup> fill(String collection, String id, Forward forward) {
        String token = newToken();
        return redis.send(Request.cmd(Command.SET).arg(keys.fillToken(collection, id)).arg(token)
                        .arg("PX").arg(config.fillTokenTtl().toMillis()))
                .map(ok -> true)
                .onFailure().recoverWithItem(false)
                .flatMap(tokenTaken -> store.read(collection, id).flatMap(lookup -> {
                    if (!tokenTaken) {
                        return Uni.createFrom().item(new CachedLookup(lookup, CacheStatus.forwarded(forward, false)));
                    }
                    return hooks.runBeforeStore(collection, id)
                            .flatMap(ignored -> Scripts.FILL.run(redis, fillKeys(collection, id), fillArgs(token, lookup)))
                            .map(result -> result.toInteger() == 1)
                            .onFailure().recoverWithItem(false)
                            .invoke(stored -> (stored ? fillsStored : fillsDiscarded).increment())
                            .map(stored -> new CachedLookup(lookup, CacheStatus.forwarded(forward, stored)));
                }));
    }

    /**
     * Reads many documents of one collection: one pipeline per Redis node to look the entries up,
     * one storage query for the misses, one pipeline per node to fill them. Bodies are collected in
     * request order until {@code maxBytes}; later documents are returned as unprocessed. A body larger
     * than its fair share of the budget is not pulled in the first pipeline, so memory stays bounded
     * by the budget for cached documents.
     */
    public Uni<BatchLookup> readMany(String collection, List<String> requestedIds, long maxBytes) {
        List<String> ids = new ArrayList<>(new LinkedHashSet<>(requestedIds));
        if (ids.isEmpty()) {
            return Uni.createFrom().item(new BatchLookup(List.of(), List.of(), List.of()));
        }
        long inlineLimit = Math.max(1, maxBytes / ids.size());
        List<String> entries = ids.stream().map(id -> keys.entry(collection, id)).toList();
        BatchState state = new BatchState(collection, ids);
        return pipeline(entries, i -> pending.contains(collection, ids.get(i)) ? null
                        : (withSource -> Scripts.PEEK.build(withSource, List.of(entries.get(i)), inlineLimit)))
                .onItemOrFailure().transformToUni((responses, failure) -> {
                    if (failure != null) {
                        LOG.debugf(failure, "batch cache read failed; reading storage");
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
        boolean allFromStorage;

        BatchState(String collection, List<String> ids) {
            this.collection = collection;
            this.ids = ids;
            this.lookups = new Lookup[ids.size()];
            this.largeLength = new long[ids.size()];
        }

        void peeked(List<Response> responses) {
            for (int i = 0; i < ids.size(); i++) {
                Response r = responses.get(i);
                if (r == null || r.size() == 0) {
                    continue;
                }
                long version = Long.parseLong(r.get(0).toString());
                if (r.size() == 1) {
                    lookups[i] = Lookup.absent(collection, ids.get(i), version);
                } else if (r.size() == 2) {
                    largeLength[i] = r.get(1).toLong();
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
        boolean fill = !state.allFromStorage;
        String[] tokens = new String[missing.size()];
        List<String> tokenKeys = missing.stream().map(i -> keys.fillToken(collection, state.ids.get(i))).toList();
        Uni<boolean[]> takeTokens = !fill ? Uni.createFrom().item(new boolean[missing.size()])
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
        return takeTokens.flatMap(taken -> store.readMany(collection,
                        missing.stream().map(state.ids::get).toList())
                .flatMap(found -> {
                    for (int i : missing) {
                        state.lookups[i] = found.get(state.ids.get(i));
                    }
                    List<String> fillEntries = missing.stream().map(i -> keys.entry(collection, state.ids.get(i))).toList();
                    return pipeline(fillEntries, m -> {
                        if (!taken[m]) {
                            return null;
                        }
                        String id = state.ids.get(missing.get(m));
                        return withSource -> Scripts.FILL.build(withSource, fillKeys(collection, id),
                                fillArgs(tokens[m], found.get(id)));
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
                        f -> withSource -> Request.cmd(Command.HMGET)
                                .arg(keys.entry(state.collection, state.ids.get(toFetch.get(f)))).arg("v").arg("b"))
                        .onFailure().recoverWithItem(List.of())
                        .invoke(responses -> {
                            for (int f = 0; f < toFetch.size(); f++) {
                                int i = toFetch.get(f);
                                Lookup lookup = f < responses.size()
                                        ? decodeEntry(state.collection, state.ids.get(i), responses.get(f)) : null;
                                if (lookup instanceof Lookup.Found) {
                                    state.lookups[i] = lookup;
                                } else {
                                    // evicted or changed between the two pipelines: let the client ask again
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

    public Uni<WriteResult> update(String collection, String id, Precondition precondition, UnaryOperator<byte[]> change) {
        return store.update(collection, id, precondition, change).call(this::writeThrough);
    }

    public Uni<WriteResult> delete(String collection, String id, Precondition precondition) {
        return store.delete(collection, id, precondition).call(this::writeThrough);
    }

    /** A page of a collection, read from storage (lists are not cached). */
    public Uni<Page> list(String collection, String afterId, int limit) {
        return store.list(collection, afterId, limit);
    }

    private Uni<Void> writeThrough(WriteResult write) {
        Object[] args = write.deleted()
                ? new Object[] { write.version(), config.negativeTtl().toMillis() }
                : new Object[] { write.version(), jitteredTtl(), write.body() };
        return Scripts.WRITE.run(redis, fillKeys(write.collection(), write.id()), args)
                .invoke(ignored -> writeThroughs.increment())
                .replaceWithVoid()
                .onFailure().recoverWithUni(failure -> {
                    writeThroughFailures.increment();
                    pending.add(write.collection(), write.id());
                    LOG.warnf("cache not updated after write of %s/%s version %d (%s); reads bypass the cache until it is invalidated",
                            write.collection(), write.id(), write.version(), failure.toString());
                    return Uni.createFrom().voidItem();
                });
    }

    private void retryInvalidations() {
        for (Map.Entry<PendingInvalidations.Key, Long> mark : pending.snapshot().entrySet()) {
            PendingInvalidations.Key key = mark.getKey();
            redis.send(Request.cmd(Command.DEL).arg(keys.entry(key.collection(), key.id()))
                            .arg(keys.fillToken(key.collection(), key.id())))
                    .subscribe().with(
                            ok -> {
                                pending.resolved(key, mark.getValue());
                                LOG.infof("cache entry of %s/%s invalidated after an earlier Redis failure",
                                        key.collection(), key.id());
                            },
                            failure -> LOG.debugf("invalidation of %s/%s still pending: %s", key.collection(), key.id(),
                                    failure.toString()));
        }
    }

    /** The number of documents whose invalidation has not reached Redis yet. */
    public int pendingInvalidations() {
        return pending.size();
    }

    // ---------------------------------------------------------------- helpers

    private List<String> fillKeys(String collection, String id) {
        return List.of(keys.entry(collection, id), keys.fillToken(collection, id));
    }

    private Object[] fillArgs(String token, Lookup lookup) {
        if (lookup instanceof Lookup.Found found) {
            return new Object[] { token, found.version(), jitteredTtl(), found.document().body() };
        }
        return new Object[] { token, lookup.version(), config.negativeTtl().toMillis() };
    }

    private long jitteredTtl() {
        long ttl = config.ttl().toMillis();
        return ttl + (long) (ttl * config.ttlJitter() * ThreadLocalRandom.current().nextDouble());
    }

    private static String newToken() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong());
    }

    /** An HMGET v b reply: a hit (document or negative entry) or {@code null} for a miss. */
    private static Lookup decodeEntry(String collection, String id, Response response) {
        if (response == null || response.size() < 2 || response.get(0) == null) {
            return null;
        }
        long version = Long.parseLong(response.get(0).toString());
        Response body = response.get(1);
        return body == null ? Lookup.absent(collection, id, version)
                : new Lookup.Found(new Document(collection, id, version, body.toBytes()));
    }

    /** Builds a request; {@code withSource} asks for EVAL instead of EVALSHA. */
    @FunctionalInterface
    private interface Op {
        Request build(boolean withSource);
    }

    /**
     * Sends one request per key (those for which {@code ops} returns {@code null} are skipped and
     * answer {@code null}), pipelined: one batch per Redis node. A node that lacks a script gets the
     * batch again with the script sources; a batch refused because the slot map moved is sent again
     * request by request (the client follows MOVED for single commands).
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
                sends.add(sendGroup(indexes, built, false).invoke(responses -> {
                    for (int g = 0; g < indexes.size(); g++) {
                        out[indexes.get(g)] = responses.get(g);
                    }
                }).replaceWithVoid());
            }
            return Uni.join().all(sends).andFailFast().map(ignored -> Arrays.asList(out));
        });
    }

    private Uni<List<Response>> sendGroup(List<Integer> indexes, Op[] ops, boolean withSource) {
        List<Request> requests = indexes.stream().map(i -> ops[i].build(withSource)).toList();
        return redis.batch(requests).onFailure().recoverWithUni(failure -> {
            if (!withSource && Scripts.Script.isNoScript(failure)) {
                return sendGroup(indexes, ops, true);
            }
            topology.invalidate();
            List<Uni<Response>> singles = indexes.stream().map(i -> redis.send(ops[i].build(true))).toList();
            return Uni.join().all(singles).andFailFast();
        });
    }
}
