package io.strata.embedded.deployment;

import java.time.Duration;

import io.quarkus.runtime.annotations.ConfigPhase;
import io.quarkus.runtime.annotations.ConfigRoot;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Embedded services: a real PostgreSQL and a real Redis Cluster started in dev and test mode when no
 * address is configured for them.
 */
@ConfigMapping(prefix = "strata.embedded")
@ConfigRoot(phase = ConfigPhase.BUILD_TIME)
public interface EmbeddedServicesConfig {

    /** Start the embedded services at all (they are skipped anyway where an address is configured). */
    @WithDefault("true")
    boolean enabled();

    /** Number of Redis Cluster masters (at least 3). */
    @WithDefault("3")
    int redisMasters();

    /** Number of replicas per Redis master. */
    @WithDefault("0")
    int redisReplicasPerMaster();

    /** {@code cluster-node-timeout} of the embedded Redis nodes, in milliseconds. */
    @WithDefault("5000")
    int redisNodeTimeoutMillis();

    /** How long to wait for PostgreSQL to accept connections. */
    @WithDefault("60s")
    Duration postgresStartupTimeout();
}
