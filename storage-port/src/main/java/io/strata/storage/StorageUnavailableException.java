package io.strata.storage;

/**
 * Storage cannot answer now: it is unreachable, too slow, overloaded, or its circuit breaker is
 * open. The request may be retried later. For a write, the outcome is unknown: it may have committed.
 */
public final class StorageUnavailableException extends RuntimeException {

    public StorageUnavailableException(String reason, Throwable cause) {
        super(reason, cause, false, false);
    }
}
