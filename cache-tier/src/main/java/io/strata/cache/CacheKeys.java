package io.strata.cache;

/**
 * Redis key names. All keys of one document share a hash tag, {@code {collection/id}}, and so one
 * Redis Cluster slot: the Lua scripts that touch the entry and the fill token run on one node.
 * {@link #FORMAT} is part of every key, so that two releases that lay out entries differently can
 * share one Redis (blue-green) without reading each other's entries.
 *
 * <p>Collections and ids never contain braces (the gateway admits {@code [A-Za-z0-9._~:@-]} only),
 * which keeps the hash tag exactly the document's identity.
 */
final class CacheKeys {

    /** Version of the entry layout: bump when the layout changes. */
    static final String FORMAT = "1";

    private final String prefix;

    CacheKeys(String keyPrefix) {
        this.prefix = keyPrefix + ":" + FORMAT + ":{";
    }

    /** The hash holding a document's version ({@code v}) and body ({@code b}, absent for a negative entry). */
    String entry(String collection, String id) {
        return tag(collection, id) + "}:e";
    }

    /** The fill token of a document: only the reader holding it may store what it read. */
    String fillToken(String collection, String id) {
        return tag(collection, id) + "}:f";
    }

    /**
     * The document's version floor: the newest version a write-through or an invalidation has
     * announced, kept for a while after it. Nothing older may be stored, even into an entry that was
     * deleted or evicted meanwhile (a write-through that reaches Redis late, after a newer one and an
     * invalidation, would otherwise store an older version).
     */
    String floor(String collection, String id) {
        return tag(collection, id) + "}:w";
    }

    private String tag(String collection, String id) {
        if (collection.indexOf('{') >= 0 || collection.indexOf('}') >= 0 || id.indexOf('{') >= 0
                || id.indexOf('}') >= 0) {
            throw new IllegalArgumentException("names must not contain braces");
        }
        return prefix + collection + "/" + id;
    }
}
