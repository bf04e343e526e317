package io.strata.storage;

/**
 * What storage (or a cache of it) knows about one id: the current document, or its absence with the
 * version of its deletion (0 when it never existed). A 404 is a state with a version too, which is
 * what lets a cache order it against writes.
 */
public sealed interface Lookup {

    long version();

    record Found(Document document) implements Lookup {
        @Override
        public long version() {
            return document.version();
        }
    }

    record Absent(String collection, String id, long version) implements Lookup {}

    static Lookup absent(String collection, String id, long deletedVersion) {
        return new Absent(collection, id, deletedVersion);
    }
}
