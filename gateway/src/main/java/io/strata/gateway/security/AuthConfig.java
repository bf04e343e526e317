package io.strata.gateway.security;

import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Authentication, authorisation and per-key rate limits of the API. */
@ConfigMapping(prefix = "strata.auth")
public interface AuthConfig {

    /**
     * The server-side secret that keys are hashed with (HMAC-SHA256). Required in production (from
     * Vault or a Kubernetes Secret); generated at start in dev and test. Changing it invalidates every key.
     */
    Optional<String> pepper();

    /**
     * A key with the {@code admin} scope to create at start (its secret, from Vault or a Secret), so that
     * a new deployment can create the other keys. Optional.
     */
    Optional<String> bootstrapAdminKey();

    /** How long a verified key is trusted without asking storage again (revocations also reach it at once). */
    @WithDefault("10s")
    Duration keyCacheTtl();

    /** How long an unknown key is remembered as unknown (bounds storage lookups under a flood of bad keys). */
    @WithDefault("2s")
    Duration unknownKeyCacheTtl();

    /**
     * Storage lookups per second of keys this instance has not verified in the last 30 minutes; beyond
     * it such a key is refused (401 with {@code Retry-After}) without a lookup, so that a flood of
     * made-up keys cannot crowd documents out of the storage pool. Keys verified before are looked up
     * again outside this budget when their cache entry expires, so that a flood cannot lock them out.
     */
    @WithDefault("500")
    int keyLookupsPerSecond();

    /** Requests per second per key when the key sets no limit of its own; 0: unlimited. */
    @WithDefault("1000")
    int defaultRateLimit();

    /**
     * When the rate limiter cannot reach Redis: enforce each key's limit in this instance alone (true;
     * with N instances up to N times the limit is admitted meanwhile) or refuse requests with 503 (false).
     */
    @WithDefault("true")
    boolean rateLimitFailOpen();
}
