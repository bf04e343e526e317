package io.strata.cache.redis;

import java.util.List;

/**
 * Redis key names. All keys of one document share a hash tag, {@code {collection/id}}, and so one
 * Redis Cluster slot: the scripts that touch a document's entry and fill token run on one node.
 *
 * <p>{@link #FORMAT} is part of every key. Two releases that lay entries out differently can then
 * share one Redis (blue-green) without reading each other's entries; and since a release also removes
 * the document's keys of the formats next to its own whenever it writes or invalidates the document
 * ({@link #neighbours}), neither release can serve an entry the other's write made stale. Bump the
 * format whenever the layout of an entry, a token or a script's view of them changes.
 *
 * <p>Collections and ids never contain braces (the gateway admits {@code [A-Za-z0-9._~:@-]} only),
 * which keeps the hash tag exactly the document's identity.
 */
public final class CacheKeys {

    /** Version of the key and entry layout. 2: no version floor; write-throughs update, only fills create. */
    public static final int FORMAT = 2;

    private final String prefix;

    public CacheKeys(String keyPrefix) {
        this.prefix = keyPrefix;
    }

    /** The keys of one document, in the order the scripts take them. */
    public record Document(String entry, String token, List<String> neighbours) {

        /** Entry and token, then the neighbouring formats' entries and tokens. */
        public List<String> all() {
            return java.util.stream.Stream.concat(java.util.stream.Stream.of(entry, token), neighbours.stream())
                    .toList();
        }
    }

    public Document document(String collection, String id) {
        return new Document(entry(collection, id), fillToken(collection, id), neighbours(collection, id));
    }

    /** The hash holding a document's version ({@code v}), freshness ({@code f}) and body ({@code b}, absent when negative). */
    public String entry(String collection, String id) {
        return key(FORMAT, collection, id, "e");
    }

    /** The fill token of a document: only the reader holding it may store what it read. */
    public String fillToken(String collection, String id) {
        return key(FORMAT, collection, id, "f");
    }

    /** Entries and fill tokens of the same document in the previous and the next format. */
    List<String> neighbours(String collection, String id) {
        return List.of(
                key(FORMAT - 1, collection, id, "e"),
                key(FORMAT - 1, collection, id, "f"),
                key(FORMAT + 1, collection, id, "e"),
                key(FORMAT + 1, collection, id, "f"));
    }

    /** A key of this release that belongs to no document, in a slot of its own ({@code name} is its hash tag). */
    public String shared(String name) {
        return prefix + ":" + FORMAT + ":{" + name + "}";
    }

    private String key(int format, String collection, String id, String suffix) {
        if (collection.indexOf('{') >= 0
                || collection.indexOf('}') >= 0
                || id.indexOf('{') >= 0
                || id.indexOf('}') >= 0) {
            throw new IllegalArgumentException("names must not contain braces");
        }
        return prefix + ":" + format + ":{" + collection + "/" + id + "}:" + suffix;
    }
}
