package io.strata.storage;

/** How the storage adapter sees its store right now, for health reports. */
public interface StorageStatus {

    /** The state of the circuit breaker in front of storage: CLOSED, OPEN or HALF_OPEN. */
    String breakerState();
}
