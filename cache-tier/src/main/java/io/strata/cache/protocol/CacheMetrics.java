package io.strata.cache.protocol;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** The cache tier's counters, in one place so that each name and label is spelled once (a singleton: read as fields, never through a proxy). */
@Singleton
public class CacheMetrics {

    final Counter hits;
    final Counter negativeHits;
    final Counter staleHits;
    final Counter misses;
    final Counter bypasses;
    final Counter fillsStored;
    final Counter fillsDiscarded;
    final Counter fillsRejected;
    final Counter coalesced;
    final Counter leaseWaits;
    final Counter writeThroughs;
    final Counter writeThroughFailures;
    final Counter tombstones;
    public final Counter nearHits;
    public final Counter nearMisses;

    public CacheMetrics(MeterRegistry registry) {
        hits = registry.counter("strata.cache.reads", "result", "hit");
        negativeHits = registry.counter("strata.cache.reads", "result", "negative_hit");
        staleHits = registry.counter("strata.cache.reads", "result", "stale");
        misses = registry.counter("strata.cache.reads", "result", "miss");
        bypasses = registry.counter("strata.cache.reads", "result", "bypass");
        fillsStored = registry.counter("strata.cache.fills", "result", "stored");
        fillsDiscarded = registry.counter("strata.cache.fills", "result", "discarded");
        fillsRejected = registry.counter("strata.cache.fills", "result", "rejected_older");
        coalesced = registry.counter("strata.cache.coalesced_loads");
        leaseWaits = registry.counter("strata.cache.lease_waits");
        writeThroughs = registry.counter("strata.cache.write_throughs", "result", "ok");
        writeThroughFailures = registry.counter("strata.cache.write_throughs", "result", "failed");
        tombstones = registry.counter("strata.cache.tombstones");
        nearHits = registry.counter("strata.cache.near.reads", "result", "hit");
        nearMisses = registry.counter("strata.cache.near.reads", "result", "miss");
    }
}
