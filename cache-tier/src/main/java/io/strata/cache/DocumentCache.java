package io.strata.cache;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.runtime.StartupEvent;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.mutiny.Uni;
import io.strata.cache.near.NearReads;
import io.strata.cache.protocol.BatchReads;
import io.strata.cache.protocol.Invalidations;
import io.strata.cache.protocol.StrictReads;
import io.strata.cache.protocol.WriteThrough;
import io.strata.cache.redis.RedisNodes;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Page;
import io.strata.storage.Precondition;
import io.strata.storage.StorageException;
import io.strata.storage.StorageUnavailableException;
import io.strata.storage.WriteResult;

/**
 * The cache tier as the gateway sees it: documents read and written through a Redis Cluster in front
 * of the storage port, under a versioned protocol that never lets a read answer an older version than
 * a write acknowledged before it began, and that makes Strata more available than its storage, never
 * less. The protocol's roles each have a class, whose header states the invariant it keeps (read
 * {@code docs/cache-protocol.md} first):
 * <ul>
 * <li>{@link StrictReads} — reads through Redis, and what is served past freshness;</li>
 * <li>{@link io.strata.cache.protocol.FillLease} — fills after a miss, and why no older fill can land;</li>
 * <li>{@link BatchReads} — many documents at once, within a byte budget;</li>
 * <li>{@link WriteThrough} — what a write does to the cache before it is acknowledged;</li>
 * <li>{@link Invalidations} — repair after writes whose write-through did not reach Redis;</li>
 * <li>{@link NearReads} — the near cache in this process: strict reads under a lease, and reads that
 * accept bounded staleness;</li>
 * <li>{@link RedisNodes} — the connections and guards per Redis master, and the scripts they run.</li>
 * </ul>
 */
@ApplicationScoped
public class DocumentCache {

    /** How often a change is computed again when concurrent writes keep replacing the version it read. */
    private static final int MAX_UPDATE_ATTEMPTS = 5;

    private final StrictReads strict;
    private final BatchReads batches;
    private final WriteThrough writeThrough;
    private final Invalidations invalidations;
    private final NearReads near;
    private final RedisNodes redis;
    private final DocumentStore store;
    private final Duration unknownOutcomeWatch;

    public DocumentCache(StrictReads strict, BatchReads batches, WriteThrough writeThrough, Invalidations invalidations,
            NearReads near, RedisNodes redis, DocumentStore store, CacheConfig config) {
        this.strict = strict;
        this.batches = batches;
        this.writeThrough = writeThrough;
        this.invalidations = invalidations;
        this.near = near;
        this.redis = redis;
        this.store = store;
        this.unknownOutcomeWatch = config.unknownOutcomeWatch();
    }

    /** Before the first request: the slot map and a connection to every master. */
    void warm(@Observes StartupEvent event) {
        redis.warm(Duration.ofSeconds(3));
    }

    // ---------------------------------------------------------------- reads

    /**
     * Reads one document. A read that accepts staleness ({@link ReadOptions#maxStale()}, or the
     * collection's default) may be answered from the near cache; any other read, and a near miss, is
     * strict: never older than a write acknowledged before it began.
     */
    public Uni<CachedLookup> read(String collection, String id, ReadOptions options) {
        return near.read(collection, id, options, () -> strict.read(collection, id, options));
    }

    /** Reads many documents of one collection, within {@code maxBytes} of bodies (the rest is unprocessed). */
    public Uni<BatchLookup> readMany(String collection, List<String> ids, long maxBytes) {
        return batches.readMany(collection, ids, maxBytes);
    }

    /** A page of a collection, read from storage (lists are not cached), of at most {@code maxBytes} of bodies. */
    public Uni<Page> list(String collection, String afterId, int limit, long maxBytes) {
        return store.list(collection, afterId, limit, maxBytes);
    }

    // ---------------------------------------------------------------- writes

    /**
     * Writes go to storage, then through the cache ({@link WriteThrough}) before they are acknowledged.
     * Once storage is asked, neither the write nor its write-through is cancelled with the request:
     * a client that goes away must not leave a committed write without its cache update.
     */
    public Uni<WriteResult> put(String collection, String id, byte[] body, Precondition precondition) {
        return detached(collection, id, store.put(collection, id, body, precondition));
    }

    public Uni<WriteResult> delete(String collection, String id, Precondition precondition) {
        return detached(collection, id, store.delete(collection, id, precondition));
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
            return put(collection, id, next, Precondition.ifMatch(live))
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

    private Uni<WriteResult> detached(String collection, String id, Uni<WriteResult> write) {
        return Uni.createFrom().deferred(() -> Uni.createFrom().completionStage(write
                .onFailure(failure -> failure instanceof StorageUnavailableException unavailable && unavailable.outcomeUnknown())
                .invoke(failure -> invalidations.unknownOutcome(collection, id, unknownOutcomeWatch))
                .call(writeThrough::apply)
                .subscribeAsCompletionStage()));
    }

    // ---------------------------------------------------------------- health

    /** The number of documents whose invalidation has not reached Redis yet, as this instance sees it. */
    public int pendingInvalidations() {
        return invalidations.pendingCount();
    }

    /** Circuit-breaker state per current Redis master (those whose breaker has left CLOSED at least once). */
    public Map<String, CircuitBreakerState> redisBreakers() {
        return redis.breakerStates();
    }
}
