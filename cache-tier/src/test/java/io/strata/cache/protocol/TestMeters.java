package io.strata.cache.protocol;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.arc.Unremovable;

/**
 * A registry that keeps what is recorded, under the application's composite registry: the cache tier
 * ships none (the gateway adds Prometheus's), and without one every counter reads zero.
 */
@Singleton
public class TestMeters {

    @Produces
    @Singleton
    @Unremovable
    SimpleMeterRegistry registry() {
        return new SimpleMeterRegistry();
    }
}
