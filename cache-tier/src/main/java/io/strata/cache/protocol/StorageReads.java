package io.strata.cache.protocol;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import io.smallrye.mutiny.Uni;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;

/**
 * Reads of storage that do not go through a fill lease (Redis unavailable, a lease not granted in
 * time, an invalidation pending), one per document at a time within this instance: every request that
 * arrives while a read of its document runs shares that read, until the read hands its answer out.
 *
 * <p>Sharing a read with a request that arrived after it began is safe because the read is a
 * {@link DocumentStore#readCurrent}: no write of the document commits between the read and the moment
 * it stops taking requests. A write acknowledged before a request arrived was committed before then,
 * so it is in the answer that request gets. A burst of reads of one document costs one storage read
 * per instance, however long that read takes.
 *
 * <p>Each request waits on its own copy of the shared answer: one that goes away (its copy cancelled)
 * leaves the read and the others alone.
 */
public final class StorageReads {

    private record Key(String collection, String id) {}

    private final DocumentStore store;
    /** The read of each document that still takes requests. */
    private final Map<Key, CompletableFuture<Lookup>> open = new ConcurrentHashMap<>();

    public StorageReads(DocumentStore store) {
        this.store = store;
    }

    public Uni<Lookup> read(String collection, String id) {
        Key key = new Key(collection, id);
        CompletableFuture<Lookup> mine = new CompletableFuture<>();
        CompletableFuture<Lookup> shared = open.putIfAbsent(key, mine);
        if (shared != null) {
            return copyOf(shared);
        }
        // still current when it stops taking requests: requests from then on start a read of their own
        store.readCurrent(collection, id, () -> open.remove(key, mine))
                .subscribe()
                .with(mine::complete, failure -> {
                    open.remove(key, mine);
                    mine.completeExceptionally(failure);
                });
        return copyOf(mine);
    }

    private static Uni<Lookup> copyOf(CompletableFuture<Lookup> answer) {
        return Uni.createFrom().completionStage(answer::minimalCompletionStage);
    }
}
