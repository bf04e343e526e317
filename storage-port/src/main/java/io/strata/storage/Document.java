package io.strata.storage;

import java.util.Objects;

/**
 * One version of a document: its body exactly as the client sent it (validated JSON, never
 * re-serialized) and the version storage gave the write that produced it.
 */
public record Document(String collection, String id, long version, byte[] body) {

    public Document {
        Objects.requireNonNull(collection);
        Objects.requireNonNull(id);
        Objects.requireNonNull(body);
    }

    /** The strong entity tag of this version: the decimal version in quotes. */
    public String etag() {
        return "\"" + version + "\"";
    }
}
