package io.strata.cache.protocol;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.smallrye.mutiny.Uni;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;

/**
 * Reads of storage that do not go through a fill lease (Redis unavailable, a lease not granted in
 * time, an invalidation pending), collapsed per document within this instance: at most one read of a
 * document runs at a time, and every request that arrives while it runs waits for the next read,
 * which they share. A request never takes the answer of a read that began before it arrived, so a
 * write acknowledged before the request is always seen.
 */
public final class StorageReads {

    private record Key(String collection, String id) {}

    /** One storage read and the requests that share it. */
    private static final class Wave {
        final CompletableFuture<Lookup> result = new CompletableFuture<>();
        Wave next;
    }

    private final DocumentStore store;
    private final Map<Key, Wave> running = new HashMap<>();

    public StorageReads(DocumentStore store) {
        this.store = store;
    }

    public Uni<Lookup> read(String collection, String id) {
        Key key = new Key(collection, id);
        Wave wave;
        boolean start;
        synchronized (running) {
            Wave current = running.get(key);
            if (current == null) {
                wave = new Wave();
                running.put(key, wave);
                start = true;
            } else {
                if (current.next == null) {
                    current.next = new Wave();
                }
                wave = current.next;
                start = false;
            }
        }
        if (start) {
            start(key, wave);
        }
        return Uni.createFrom().completionStage(wave.result);
    }

    private void start(Key key, Wave wave) {
        store.read(key.collection(), key.id())
                .subscribe()
                .with(
                        lookup -> finish(key, wave, () -> wave.result.complete(lookup)),
                        failure -> finish(key, wave, () -> wave.result.completeExceptionally(failure)));
    }

    private void finish(Key key, Wave wave, Runnable complete) {
        Wave next;
        synchronized (running) {
            next = wave.next;
            if (next == null) {
                running.remove(key);
            } else {
                running.put(key, next);
            }
        }
        complete.run();
        if (next != null) {
            start(key, next);
        }
    }
}
