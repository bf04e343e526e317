package io.strata.cache;

import io.strata.storage.Lookup;

/**
 * A read answered through the cache tier.
 *
 * @param freshUntil until when (epoch ms) the answer counts as fresh: the cached entry's freshness, or
 *                   for an answer read from storage, the freshness it would be cached with
 */
public record CachedLookup(Lookup lookup, CacheStatus status, long freshUntil) {}
