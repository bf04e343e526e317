package io.strata.gateway.security;

import java.util.function.LongSupplier;

/**
 * How many keys this instance may look up in storage per second (a token bucket refilled
 * continuously, holding at most one second's worth). Keys found in the caches cost nothing; a flood
 * of new, unknown keys costs at most this many storage queries per second, so that it can never
 * starve document traffic of connections.
 */
final class LookupBudget {

    private final double perNano;
    private final double capacity;
    private final LongSupplier nanoTime;
    private double tokens;
    private long refilledAt;

    LookupBudget(int perSecond, LongSupplier nanoTime) {
        this.perNano = perSecond / 1e9;
        this.capacity = Math.max(1, perSecond);
        this.nanoTime = nanoTime;
        this.tokens = capacity;
        this.refilledAt = nanoTime.getAsLong();
    }

    /** Takes one lookup from the budget; false when this second's lookups are spent. */
    synchronized boolean tryAcquire() {
        long now = nanoTime.getAsLong();
        tokens = Math.min(capacity, tokens + (now - refilledAt) * perNano);
        refilledAt = now;
        if (tokens < 1) {
            return false;
        }
        tokens -= 1;
        return true;
    }
}
