package io.strata.storage.pg;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** How the PostgreSQL adapter guards its calls (SmallRye Fault Tolerance). */
@ConfigMapping(prefix = "strata.storage")
public interface StorageConfig {

    /** Longest a statement or transaction may take before it counts as failed. */
    @WithDefault("2s")
    Duration timeout();

    /** Reads are retried this many times after a connection failure (writes never are). */
    @WithDefault("1")
    int readRetries();

    Bulkhead bulkhead();

    Breaker breaker();

    /** Calls in flight at once, and calls that may wait for a place; beyond that, load is shed. */
    interface Bulkhead {
        /** Calls running at once (keep it at or above the pool size). */
        @WithDefault("64")
        int limit();

        /** Calls waiting for a place. */
        @WithDefault("256")
        int queue();
    }

    /** The circuit breaker in front of PostgreSQL. */
    interface Breaker {
        /** Calls in the rolling window. */
        @WithDefault("20")
        int requestVolume();

        /** Share of failed calls in the window that opens the breaker. */
        @WithDefault("0.5")
        double failureRatio();

        /** How long the breaker stays open before it lets a trial call through. */
        @WithDefault("5s")
        Duration delay();

        /** Successful trial calls that close it again. */
        @WithDefault("2")
        int successThreshold();
    }
}
