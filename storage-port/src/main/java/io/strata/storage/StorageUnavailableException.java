package io.strata.storage;

/**
 * Storage cannot answer now: it is unreachable, too slow, overloaded, or its circuit breaker is
 * open. The request may be retried later. For a write, the outcome is unknown: it may have committed.
 */
public final class StorageUnavailableException extends RuntimeException {

    private final boolean outcomeUnknown;

    public StorageUnavailableException(String reason, Throwable cause) {
        this(reason, cause, true);
    }

    /**
     * @param outcomeUnknown whether a write may have committed (it timed out, or its connection broke
     *                       while it ran), as opposed to never having been attempted (open breaker,
     *                       full bulkhead, no connection to be had)
     */
    public StorageUnavailableException(String reason, Throwable cause, boolean outcomeUnknown) {
        super(reason, cause, false, false);
        this.outcomeUnknown = outcomeUnknown;
    }

    /** For a write: whether it may have committed. */
    public boolean outcomeUnknown() {
        return outcomeUnknown;
    }
}
