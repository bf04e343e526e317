package io.strata.gateway.security;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** Counts the requests the edge refuses, by reason: {@code strata_auth_refusals_total{reason}}. */
@Singleton
public class Refusals {

    public enum Reason {
        /** 401: no API key. */
        MISSING_KEY,
        /** 401: the key is unknown, malformed or revoked. */
        INVALID_KEY,
        /** 401: the key was not looked up, the instance's lookup budget being spent. */
        LOOKUP_BUDGET,
        /** 403: the key's scopes do not cover the route. */
        FORBIDDEN,
        /** 429: the key's rate limit. */
        RATE_LIMITED,
        /** 400: the request path is not in canonical form. */
        NON_CANONICAL_PATH
    }

    private final Counter[] counters = new Counter[Reason.values().length];

    public Refusals(MeterRegistry registry) {
        for (Reason reason : Reason.values()) {
            counters[reason.ordinal()] = Counter.builder("strata.auth.refusals")
                    .description("Requests refused at the edge")
                    .tag("reason", reason.name().toLowerCase(java.util.Locale.ROOT))
                    .register(registry);
        }
    }

    public void count(Reason reason) {
        counters[reason.ordinal()].increment();
    }
}
