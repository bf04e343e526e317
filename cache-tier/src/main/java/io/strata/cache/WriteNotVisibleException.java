package io.strata.cache;

/**
 * A write committed to storage whose visibility could not be guaranteed within
 * {@code strata.cache.write-visibility-timeout}: no instance could remove the cached copy it makes
 * stale. The write is not acknowledged; until the copy is removed, reads may still answer the
 * previous version. Nothing is lost: the write is in storage, and its change stays recorded until an
 * instance removes the copy.
 */
public final class WriteNotVisibleException extends RuntimeException {

    private final String collection;
    private final String id;
    private final long version;

    public WriteNotVisibleException(String collection, String id, long version) {
        super(
                "the write of " + collection + "/" + id + " is committed as version " + version
                        + ", but the cache could not be updated in time: reads may answer the previous version for a while",
                null,
                false,
                false);
        this.collection = collection;
        this.id = id;
        this.version = version;
    }

    public String collection() {
        return collection;
    }

    public String id() {
        return id;
    }

    public long version() {
        return version;
    }
}
