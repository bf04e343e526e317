package io.strata.gateway.health;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.strata.cache.DocumentCache;
import io.strata.storage.StorageStatus;

/**
 * Readiness reflects what this instance can do, not the health of shared services: without Redis it
 * serves from PostgreSQL, and without PostgreSQL it serves cached copies and answers fast 503s. An
 * outage of either must not take every instance out of rotation, so the breaker states are reported
 * as data and the instance stays ready. (The client extensions' own checks, which would go DOWN with
 * the shared service, are switched off in application.properties.)
 */
@Readiness
@ApplicationScoped
public class InstanceReadiness implements HealthCheck {

    private final DocumentCache cache;
    private final StorageStatus storage;

    public InstanceReadiness(DocumentCache cache, StorageStatus storage) {
        this.cache = cache;
        this.storage = storage;
    }

    @Override
    public HealthCheckResponse call() {
        var response = HealthCheckResponse.named("strata-instance")
                .up()
                .withData("postgresql-breaker", storage.breakerState())
                .withData("pending-invalidations", cache.pendingInvalidations());
        cache.redisBreakers().forEach((node, state) -> response.withData("redis-breaker-" + node, state.name()));
        return response.build();
    }
}
