package io.strata.cache.redis;

import io.smallrye.faulttolerance.api.CircuitBreakerState;

/** The value of the {@code strata_circuit_breaker_state} gauge: 0 closed, 1 open, 2 half-open. */
final class BreakerStates {

    private BreakerStates() {}

    static double value(CircuitBreakerState state) {
        if (state == null) {
            return 0;
        }
        return switch (state) {
            case CLOSED -> 0;
            case OPEN -> 1;
            case HALF_OPEN -> 2;
        };
    }
}
