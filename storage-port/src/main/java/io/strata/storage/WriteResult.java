package io.strata.storage;

/**
 * A committed write.
 *
 * @param collection collection
 * @param id         document id
 * @param version    the version this write was given
 * @param body       the new body, or {@code null} for a deletion
 * @param created    whether the document did not exist before this write
 */
public record WriteResult(String collection, String id, long version, byte[] body, boolean created) {

    public boolean deleted() {
        return body == null;
    }

    public Document document() {
        if (body == null) {
            throw new IllegalStateException("a deletion has no document");
        }
        return new Document(collection, id, version, body);
    }
}
