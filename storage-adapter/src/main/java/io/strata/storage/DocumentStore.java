package io.strata.storage;

import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import io.smallrye.mutiny.Uni;

/**
 * The storage port: the source of truth for documents. It knows nothing of caching.
 *
 * <p>Invariants every implementation keeps:
 * <ul>
 * <li>every write gets a version from one sequence shared by all documents, and the versions of one
 * document grow in the order its writes commit;</li>
 * <li>a deleted document keeps its deletion's version, so a later create gets a higher one;</li>
 * <li>preconditions are evaluated against the committed current version inside the write's
 * transaction, before "not found" is decided.</li>
 * </ul>
 */
public interface DocumentStore {

    Uni<Lookup> read(String collection, String id);

    /** Reads several ids of one collection at once; every requested id is a key of the result. */
    Uni<Map<String, Lookup>> readMany(String collection, List<String> ids);

    /** Creates or replaces a document. */
    Uni<WriteResult> put(String collection, String id, byte[] body, Precondition precondition);

    /**
     * Replaces an existing document with {@code change} applied to its current body; fails with
     * {@link StorageException.NotFound} when it does not exist (after the precondition).
     */
    Uni<WriteResult> update(String collection, String id, Precondition precondition, UnaryOperator<byte[]> change);

    /** Deletes a document, leaving a storage tombstone with the deletion's version. */
    Uni<WriteResult> delete(String collection, String id, Precondition precondition);

    /** Live documents of a collection with ids greater than {@code afterId} (all when null), in byte order. */
    Uni<Page> list(String collection, String afterId, int limit);
}
