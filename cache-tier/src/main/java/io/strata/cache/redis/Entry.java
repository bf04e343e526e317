package io.strata.cache.redis;

import io.strata.storage.Document;
import io.strata.storage.Lookup;
import io.vertx.mutiny.redis.client.Response;

/**
 * A cache entry as read from Redis: what it says about the document (a body, or its absence with the
 * version of that state) and until when it is fresh (epoch ms).
 */
public record Entry(Lookup lookup, long freshUntil) {

    /** The fields an entry is read by, in the order {@link #decode} expects them. */
    public static final String[] FIELDS = {"v", "b", "f"};

    /** An {@code HMGET v b f} reply: a hit (document or negative entry), or {@code null} for a miss. */
    public static Entry decode(String collection, String id, Response response) {
        if (response == null || response.size() < 3 || response.get(0) == null) {
            return null;
        }
        long version = Long.parseLong(response.get(0).toString());
        Response body = response.get(1);
        long freshUntil =
                response.get(2) == null ? 0 : Long.parseLong(response.get(2).toString());
        Lookup lookup = body == null
                ? Lookup.absent(collection, id, version)
                : new Lookup.Found(new Document(collection, id, version, body.toBytes()));
        return new Entry(lookup, freshUntil);
    }

    public boolean freshAt(long epochMillis) {
        return freshUntil > epochMillis;
    }
}
