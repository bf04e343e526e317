package io.strata.cache;

import java.util.function.BiFunction;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;

/**
 * A seam between a fill's storage read and its store into Redis. In production it does nothing;
 * tests install a hook that pauses a fill there, which makes races with writes deterministic.
 */
@ApplicationScoped
public class FillHooks {

    private static final BiFunction<String, String, Uni<Void>> NONE = (collection, id) -> Uni.createFrom().voidItem();

    private volatile BiFunction<String, String, Uni<Void>> beforeStore = NONE;

    /** Runs {@code hook} after every fill has read storage and before it stores into Redis. */
    public void beforeStore(BiFunction<String, String, Uni<Void>> hook) {
        this.beforeStore = hook == null ? NONE : hook;
    }

    public void reset() {
        beforeStore = NONE;
    }

    Uni<Void> runBeforeStore(String collection, String id) {
        return beforeStore.apply(collection, id);
    }
}
