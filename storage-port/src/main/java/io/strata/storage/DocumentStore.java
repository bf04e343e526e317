package io.strata.storage;

import java.util.List;
import java.util.Map;

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

    /**
     * Reads a document, then runs {@code whileCurrent} before any write of the document can commit:
     * every write of it committed before {@code whileCurrent} ran is in the lookup this answers. One
     * read can so be shared with every request that arrived before {@code whileCurrent} ran, however late
     * in the read they arrived. The lookup is answered only once the read has made sure that no write
     * could commit meanwhile; a read that cannot (its hold on the document lost) fails, and a retried
     * read may run {@code whileCurrent} again. Writes of the document wait for {@code whileCurrent},
     * which must be short.
     */
    Uni<Lookup> readCurrent(String collection, String id, Runnable whileCurrent);

    /**
     * Reads several ids of one collection at once, their bodies in the order of {@code ids} until
     * {@code maxBytes} (the first document always): every requested id is either a key of
     * {@link Many#lookups()} or, when its document exists but its body did not fit, in
     * {@link Many#deferred()}.
     */
    Uni<Many> readMany(String collection, List<String> ids, long maxBytes);

    /** What {@link #readMany} read, and the ids of documents whose bodies did not fit its budget. */
    record Many(Map<String, Lookup> lookups, List<String> deferred) {}

    /** Creates or replaces a document. */
    Uni<WriteResult> put(String collection, String id, byte[] body, Precondition precondition);

    /** Deletes a document, leaving a storage tombstone with the deletion's version. */
    Uni<WriteResult> delete(String collection, String id, Precondition precondition);

    /**
     * Live documents of a collection with ids greater than {@code afterId} (all when null), in byte
     * order: at most {@code limit}, and no more bodies than fit {@code maxBytes} (the first document
     * always). {@link Page#lastId()} says where the next page starts, whichever bound ended this one.
     */
    Uni<Page> list(String collection, String afterId, int limit, long maxBytes);
}
