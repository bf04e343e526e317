package io.strata.cache;

import io.strata.storage.Lookup;

/** A read answered through the cache tier. */
public record CachedLookup(Lookup lookup, CacheStatus status) {
}
