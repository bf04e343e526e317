package io.strata.cache.protocol;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheHooks;
import io.strata.cache.CachedLookup;
import io.strata.cache.ReadOptions;

/**
 * A strict read of one document that missed, read storage, and is held by a hook just before it
 * stores what it read (holding the fill token it took before reading storage), until it is resumed.
 * Only the first fill of the document is held.
 */
final class PausedFill {

    private final CompletableFuture<Void> reachedStore = new CompletableFuture<>();
    private final CompletableFuture<Void> release = new CompletableFuture<>();
    private final CompletableFuture<CachedLookup> read;

    PausedFill(CacheHooks hooks, StrictReads strict, String collection, String id) {
        hooks.beforeStore((c, i) -> {
            if (!c.equals(collection) || !i.equals(id) || !reachedStore.complete(null)) {
                return Uni.createFrom().voidItem();
            }
            return Uni.createFrom().completionStage(release);
        });
        read = strict.read(collection, id, ReadOptions.DEFAULT).subscribeAsCompletionStage();
        reachedStore.orTimeout(10, TimeUnit.SECONDS).join();
    }

    /** Lets the fill store (or try to) and answers the read. */
    CachedLookup resume() {
        release.complete(null);
        return read.orTimeout(10, TimeUnit.SECONDS).join();
    }
}
