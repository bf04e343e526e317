package io.strata.cache.protocol;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.smallrye.mutiny.Uni;
import io.strata.cache.BatchLookup;
import io.strata.cache.CacheConfig;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.Entry;
import io.strata.cache.redis.RedisNodes;
import io.strata.cache.redis.Scripts;
import io.strata.storage.Document;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;

/**
 * Reads of many documents of one collection: one pipeline per Redis master to look the entries up,
 * one storage query for the misses, one pipeline per master to take their fill tokens and one to fill
 * them &mdash; under the same token discipline as single reads ({@link FillLease}), so a batch never
 * stores an older version than a write acknowledged before it began.
 *
 * <h2>Memory</h2>
 * Bodies are collected in request order until {@code maxBytes}; later documents come back as
 * unprocessed. A cached body larger than its fair share of the budget is not pulled by the first
 * pipeline, and storage sends no body past the budget, so a batch holds at most about the budget
 * from each source however large the documents. Entries past their freshness are served as they are:
 * the protocol keeps them no older than any acknowledged write.
 */
@ApplicationScoped
public class BatchReads {

    private static final Logger LOG = Logger.getLogger(BatchReads.class);

    private final RedisNodes redis;
    private final DocumentStore store;
    private final Invalidations invalidations;
    private final CacheConfig config;
    private final CacheKeys keys;
    private final Lifetimes lifetimes;

    public BatchReads(RedisNodes redis, DocumentStore store, Invalidations invalidations, CacheConfig config) {
        this.redis = redis;
        this.store = store;
        this.invalidations = invalidations;
        this.config = config;
        this.keys = new CacheKeys(config.keyPrefix());
        this.lifetimes = new Lifetimes(config);
    }

    @WithSpan("strata.cache.read_many")
    public Uni<BatchLookup> readMany(String collection, List<String> requestedIds, long maxBytes) {
        List<String> ids = new ArrayList<>(new LinkedHashSet<>(requestedIds));
        if (ids.isEmpty()) {
            return Uni.createFrom().item(new BatchLookup(List.of(), List.of(), List.of()));
        }
        long inlineLimit = Math.max(1, maxBytes / ids.size());
        Batch batch = new Batch(collection, ids, maxBytes);
        List<Scripts.Call<Scripts.Peek>> peeks = new ArrayList<>(ids.size());
        for (String id : ids) {
            peeks.add(
                    invalidations.pending(collection, id)
                            ? null
                            : Scripts.peek(keys.entry(collection, id), inlineLimit));
        }
        return redis.pipeline("batch", peeks)
                .onItemOrFailure()
                .transformToUni((peeked, failure) -> {
                    if (failure != null) {
                        LOG.debugf("batch cache read failed (%s); reading storage", failure);
                        batch.allFromStorage = true;
                    } else {
                        batch.peeked(peeked);
                    }
                    return loadMisses(batch);
                })
                .flatMap(ignored -> assemble(batch));
    }

    /** What a batch read knows about each id, by position. */
    private static final class Batch {
        final String collection;
        final List<String> ids;
        final long maxBytes;
        final Lookup[] lookups;
        /** Cached body length of entries whose body was too large to pull at first. */
        final long[] largeLength;
        /** Documents storage has but did not send, their bodies being over the budget. */
        final boolean[] deferred;

        boolean allFromStorage;

        Batch(String collection, List<String> ids, long maxBytes) {
            this.collection = collection;
            this.ids = ids;
            this.maxBytes = maxBytes;
            this.lookups = new Lookup[ids.size()];
            this.largeLength = new long[ids.size()];
            this.deferred = new boolean[ids.size()];
        }

        void peeked(List<Scripts.Peek> peeked) {
            for (int i = 0; i < ids.size(); i++) {
                Scripts.Peek peek = peeked.get(i);
                if (peek == null) {
                    continue;
                }
                if (peek.negative()) {
                    lookups[i] = Lookup.absent(collection, ids.get(i), peek.version());
                } else if (peek.body() == null) {
                    largeLength[i] = peek.length();
                } else {
                    lookups[i] = new Lookup.Found(new Document(collection, ids.get(i), peek.version(), peek.body()));
                }
            }
        }

        boolean needsStorage(int i) {
            return lookups[i] == null && largeLength[i] == 0;
        }
    }

    private Uni<Void> loadMisses(Batch batch) {
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < batch.ids.size(); i++) {
            if (batch.needsStorage(i)) {
                missing.add(i);
            }
        }
        if (missing.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        String collection = batch.collection;
        String[] tokens = new String[missing.size()];
        List<Scripts.Call<Boolean>> takes = new ArrayList<>(missing.size());
        for (int m = 0; m < missing.size(); m++) {
            String id = batch.ids.get(missing.get(m));
            if (batch.allFromStorage || invalidations.pending(collection, id)) {
                takes.add(null);
                continue;
            }
            tokens[m] = Lifetimes.newToken();
            String tokenKey = keys.fillToken(collection, id);
            takes.add(Scripts.command(
                    tokenKey,
                    Request.cmd(Command.SET)
                            .arg(tokenKey)
                            .arg(tokens[m])
                            .arg("PX")
                            .arg(config.fillTokenTtl().toMillis()),
                    reply -> reply != null));
        }
        Uni<List<Boolean>> takeTokens = redis.pipeline("batch_lease", takes)
                .onFailure()
                .recoverWithItem(() -> java.util.Arrays.asList(new Boolean[missing.size()]));
        return takeTokens.flatMap(taken -> store.readMany(
                        collection, missing.stream().map(batch.ids::get).toList(), batch.maxBytes)
                .flatMap(read -> {
                    Map<String, Lookup> found = read.lookups();
                    List<Scripts.Call<?>> fills = new ArrayList<>(missing.size());
                    for (int m = 0; m < missing.size(); m++) {
                        int i = missing.get(m);
                        String id = batch.ids.get(i);
                        Lookup lookup = found.get(id);
                        batch.lookups[i] = lookup;
                        batch.deferred[i] = lookup == null;
                        if (!Boolean.TRUE.equals(taken.get(m))) {
                            fills.add(null);
                        } else if (lookup == null) {
                            // a body storage did not send (over the budget) cannot be filled: hand the lease back
                            fills.add(Scripts.release(keys.fillToken(collection, id), tokens[m]));
                        } else {
                            fills.add(Scripts.fill(
                                    keys.document(collection, id), tokens[m], lookup, lifetimes.of(lookup)));
                        }
                    }
                    @SuppressWarnings({"unchecked", "rawtypes"})
                    List<Scripts.Call<Object>> calls = (List) fills;
                    return redis.pipeline("batch_fill", calls)
                            .onFailure()
                            .recoverWithNull()
                            .replaceWithVoid();
                }));
    }

    private Uni<BatchLookup> assemble(Batch batch) {
        List<Integer> toFetch = new ArrayList<>();
        long budget = batch.maxBytes;
        boolean exhausted = false;
        boolean[] unprocessed = new boolean[batch.ids.size()];
        int included = 0;
        for (int i = 0; i < batch.ids.size(); i++) {
            if (batch.deferred[i]) {
                exhausted = true;
                unprocessed[i] = true;
                continue;
            }
            long size =
                    batch.lookups[i] instanceof Lookup.Found f ? f.document().body().length : batch.largeLength[i];
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
            if (batch.lookups[i] == null) {
                toFetch.add(i);
            }
        }
        List<Scripts.Call<Entry>> fetches = toFetch.stream()
                .map(i -> {
                    String id = batch.ids.get(i);
                    String entryKey = keys.entry(batch.collection, id);
                    return Scripts.command(
                            entryKey,
                            Request.cmd(Command.HMGET)
                                    .arg(entryKey)
                                    .arg(Entry.FIELDS[0])
                                    .arg(Entry.FIELDS[1])
                                    .arg(Entry.FIELDS[2]),
                            reply -> Entry.decode(batch.collection, id, reply));
                })
                .toList();
        Uni<Void> fetched = fetches.isEmpty()
                ? Uni.createFrom().voidItem()
                : redis.pipeline("batch", fetches)
                        .onFailure()
                        .recoverWithItem(List.of())
                        .invoke(entries -> {
                            for (int f = 0; f < toFetch.size(); f++) {
                                int i = toFetch.get(f);
                                Entry entry = f < entries.size() ? entries.get(f) : null;
                                if (entry != null && entry.lookup() instanceof Lookup.Found) {
                                    batch.lookups[i] = entry.lookup();
                                } else {
                                    // evicted or deleted between the two pipelines: let the client ask again
                                    unprocessed[i] = true;
                                }
                            }
                        })
                        .replaceWithVoid();
        return fetched.map(ignored -> {
            List<Document> found = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            List<String> later = new ArrayList<>();
            for (int i = 0; i < batch.ids.size(); i++) {
                if (unprocessed[i]) {
                    later.add(batch.ids.get(i));
                } else if (batch.lookups[i] instanceof Lookup.Found f) {
                    found.add(f.document());
                } else {
                    missing.add(batch.ids.get(i));
                }
            }
            return new BatchLookup(found, missing, later);
        });
    }
}
