package io.strata.bench;

import io.smallrye.mutiny.Uni;

/**
 * The benchmark's Redis reference as the HTTP side sees it: one read of a document's cache entry,
 * made inside the cache tier's packages (only they may use its Redis connections), so that the
 * resource answering it depends on this and not on the cache tier's internals.
 */
public interface RedisReference {

    /** What one Redis round trip found for the document. */
    record Found(long version, byte[] body) {
    }

    /** One {@code HMGET} of the document's entry; {@code null} when the entry holds no body. */
    Uni<Found> read(String collection, String id);
}
