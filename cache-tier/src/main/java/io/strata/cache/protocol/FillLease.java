package io.strata.cache.protocol;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.strata.cache.CacheHooks;
import io.strata.cache.CacheStatus;
import io.strata.cache.CacheStatus.Forward;
import io.strata.cache.CachedLookup;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.Entry;
import io.strata.cache.redis.RedisNodes;
import io.strata.cache.redis.Scripts;
import io.strata.cache.redis.Scripts.LeaseOutcome;
import io.strata.storage.DocumentStore;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;

/**
 * Filling the cache after a miss, under a lease: the fill token.
 *
 * <h2>Why no older fill can land</h2>
 * A reader that misses takes the document's fill token ({@code SET NX}, in the same script that looks
 * for the entry) <em>before</em> it reads storage, and stores what it read only if the token is still
 * its own ({@link Scripts#fill}). Every write-through and invalidation removes the token. So a fill
 * whose storage read came before a write's commit took its token before that write's script removed
 * it: the token is gone (or another reader's), and the fill is discarded however long it took. A
 * fill never replaces a newer cached version either.
 *
 * <h2>Stampedes</h2>
 * One load per document at a time in this instance: requests that arrive while one runs wait for it
 * and then read the cache, never the load's own answer (its storage read may predate a write
 * acknowledged before they arrived). Across instances, a reader that finds the lease taken waits for
 * the holder's fill, as long as the lease can last ({@code strata.cache.lease-wait}), and reads the
 * entry it stored: a cold key costs one storage read whatever the number of readers. Reads that cannot
 * use Redis share one storage read per document in this instance ({@link StorageReads}).
 */
@ApplicationScoped
public class FillLease {

    private static final Duration POLL = Duration.ofMillis(10);
    private static final Duration MAX_POLL = Duration.ofMillis(100);

    private final RedisNodes redis;
    private final DocumentStore store;
    private final CacheConfig config;
    private final CacheHooks hooks;
    private final CacheMetrics metrics;
    private final CacheKeys keys;
    private final Lifetimes lifetimes;
    private final StorageReads storageReads;
    private final Map<PendingInvalidations.Key, CompletableFuture<Void>> loads = new ConcurrentHashMap<>();

    public FillLease(
            RedisNodes redis, DocumentStore store, CacheConfig config, CacheHooks hooks, CacheMetrics metrics) {
        this.redis = redis;
        this.store = store;
        this.config = config;
        this.hooks = hooks;
        this.metrics = metrics;
        this.keys = new CacheKeys(config.keyPrefix());
        this.lifetimes = new Lifetimes(config);
        this.storageReads = new StorageReads(store);
    }

    /** A miss or an entry past its freshness: load through the lease, one load per document here at a time. */
    Uni<CachedLookup> load(String collection, String id, Forward forward) {
        PendingInvalidations.Key key = new PendingInvalidations.Key(collection, id);
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture<Void> running = loads.putIfAbsent(key, done);
        long deadline = System.nanoTime() + config.leaseWait().toNanos();
        if (running != null) {
            metrics.coalesced.increment();
            return Uni.createFrom()
                    .completionStage(running)
                    .onItemOrFailure()
                    .transformToUni((ignored, failure) -> leaseAndFill(collection, id, forward, deadline));
        }
        return leaseAndFill(collection, id, forward, deadline).onTermination().invoke(() -> {
            loads.remove(key, done);
            done.complete(null);
        });
    }

    /** {@code no-cache}: read storage now and refresh the cache, taking the fill token over from any holder. */
    Uni<CachedLookup> revalidate(String collection, String id) {
        String token = Lifetimes.newToken();
        String tokenKey = keys.fillToken(collection, id);
        return redis.send(
                        tokenKey,
                        "revalidate",
                        Request.cmd(Command.SET)
                                .arg(tokenKey)
                                .arg(token)
                                .arg("PX")
                                .arg(config.fillTokenTtl().toMillis()))
                .map(ok -> true)
                .onFailure()
                .recoverWithItem(false)
                .flatMap(taken -> taken
                        ? fill(collection, id, token, Forward.REQUEST)
                        : storageOnly(collection, id, Forward.REQUEST));
    }

    /** Storage without the cache, collapsed per document here. */
    Uni<CachedLookup> storageOnly(String collection, String id, Forward forward) {
        return storageReads
                .read(collection, id)
                .map(lookup -> new CachedLookup(
                        lookup,
                        CacheStatus.forwarded(forward, false),
                        lifetimes.of(lookup).freshUntil()));
    }

    private Uni<CachedLookup> leaseAndFill(String collection, String id, Forward forward, long deadline) {
        String token = Lifetimes.newToken();
        CacheKeys.Document document = keys.document(collection, id);
        return redis.run(
                        "lease",
                        Scripts.lease(
                                document,
                                collection,
                                id,
                                token,
                                config.fillTokenTtl().toMillis(),
                                System.currentTimeMillis()))
                .onItemOrFailure()
                .transformToUni((outcome, failure) -> {
                    if (failure != null) {
                        return storageOnly(collection, id, forward);
                    }
                    return switch (outcome) {
                        case LeaseOutcome.Fresh fresh ->
                            Uni.createFrom()
                                    .item(new CachedLookup(
                                            fresh.entry().lookup(),
                                            CacheStatus.collapsed(forward),
                                            fresh.entry().freshUntil()));
                        case LeaseOutcome.Taken taken -> fill(collection, id, token, forward);
                        case LeaseOutcome.Held held -> {
                            metrics.leaseWaits.increment();
                            yield waitForFill(collection, id, forward, deadline, POLL);
                        }
                    };
                });
    }

    /** Another reader holds the lease: look again, less and less often, until its fill lands or its lease ends. */
    private Uni<CachedLookup> waitForFill(
            String collection, String id, Forward forward, long deadline, Duration pause) {
        if (System.nanoTime() > deadline) {
            return storageOnly(collection, id, forward);
        }
        CacheKeys.Document document = keys.document(collection, id);
        Request lookup = Request.cmd(Command.HMGET)
                .arg(document.entry())
                .arg(Entry.FIELDS[0])
                .arg(Entry.FIELDS[1])
                .arg(Entry.FIELDS[2]);
        Request tokenHeld = Request.cmd(Command.EXISTS).arg(document.token());
        Duration nextPause = pause.multipliedBy(2).compareTo(MAX_POLL) > 0 ? MAX_POLL : pause.multipliedBy(2);
        return Uni.createFrom()
                .voidItem()
                .onItem()
                .delayIt()
                .by(pause)
                .flatMap(ignored ->
                        redis.batch(document.entry(), "lease_wait", List.of(source -> lookup, source -> tokenHeld)))
                .onItemOrFailure()
                .transformToUni((responses, failure) -> {
                    if (failure != null) {
                        return storageOnly(collection, id, forward);
                    }
                    Entry entry = Entry.decode(collection, id, responses.get(0));
                    if (entry != null && entry.freshAt(System.currentTimeMillis())) {
                        return Uni.createFrom()
                                .item(new CachedLookup(
                                        entry.lookup(), CacheStatus.collapsed(forward), entry.freshUntil()));
                    }
                    if (responses.get(1).toInteger() == 0) {
                        return leaseAndFill(collection, id, forward, deadline);
                    }
                    return waitForFill(collection, id, forward, deadline, nextPause);
                });
    }

    /** Holding the token: read storage, then store what was read if the token is still ours. */
    private Uni<CachedLookup> fill(String collection, String id, String token, Forward forward) {
        CacheKeys.Document document = keys.document(collection, id);
        return store.read(collection, id)
                .onFailure()
                .call(failure -> redis.run("release", Scripts.release(document.token(), token))
                        .onFailure()
                        .recoverWithNull())
                .flatMap(lookup -> {
                    Scripts.Freshness freshness = lifetimes.of(lookup);
                    return hooks.runBeforeStore(collection, id)
                            .flatMap(ignored -> redis.run("fill", Scripts.fill(document, token, lookup, freshness)))
                            .map(outcome -> {
                                (switch (outcome) {
                                            case STORED -> metrics.fillsStored;
                                            case NEWER_CACHED -> metrics.fillsRejected;
                                            case TOKEN_GONE -> metrics.fillsDiscarded;
                                        })
                                        .increment();
                                return outcome == Scripts.FillOutcome.STORED;
                            })
                            .onFailure()
                            .recoverWithItem(false)
                            .map(stored -> new CachedLookup(
                                    lookup, CacheStatus.forwarded(forward, stored), freshness.freshUntil()));
                });
    }
}
