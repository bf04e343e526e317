package io.strata.cache;

import java.util.function.BiFunction;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;

/**
 * Seams in the cache protocol where a test can pause a request: between a fill's storage read and
 * its store into Redis, and between a write's commit and its write-through. In production they do
 * nothing; tests install hooks there to make races deterministic.
 */
@ApplicationScoped
public class CacheHooks {

    private static final BiFunction<String, String, Uni<Void>> NONE =
            (collection, id) -> Uni.createFrom().voidItem();

    private volatile BiFunction<String, String, Uni<Void>> beforeStore = NONE;
    private volatile BiFunction<String, String, Uni<Void>> beforeWriteThrough = NONE;

    /** Runs {@code hook} after every fill has read storage and before it stores into Redis. */
    public void beforeStore(BiFunction<String, String, Uni<Void>> hook) {
        this.beforeStore = hook == null ? NONE : hook;
    }

    /** Runs {@code hook} after every write has committed and before its write-through. */
    public void beforeWriteThrough(BiFunction<String, String, Uni<Void>> hook) {
        this.beforeWriteThrough = hook == null ? NONE : hook;
    }

    public void reset() {
        beforeStore = NONE;
        beforeWriteThrough = NONE;
    }

    public Uni<Void> runBeforeWriteThrough(String collection, String id) {
        return beforeWriteThrough.apply(collection, id);
    }

    public Uni<Void> runBeforeStore(String collection, String id) {
        return beforeStore.apply(collection, id);
    }
}
