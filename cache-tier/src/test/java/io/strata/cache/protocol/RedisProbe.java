package io.strata.cache.protocol;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * Reads and changes the cache's Redis keys directly, to assert what the cache holds and to play what
 * eviction, another instance or another release does. The key names are spelled out here rather than
 * taken from the cache tier, because they are part of the protocol that releases share:
 * {@code strata:<format>:{collection/id}:e} (entry) and {@code …:f} (fill token).
 */
@ApplicationScoped
public class RedisProbe {

    /** The entry format of this release. */
    static final int FORMAT = 2;

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final Redis redis;

    RedisProbe(Redis redis) {
        this.redis = redis;
    }

    /** What a cache entry holds. {@code body == null}: a negative entry (the document is absent at {@code version}). */
    public record Entry(long version, String body, long ttlMillis, long freshUntil) {
        boolean negative() {
            return body == null;
        }
    }

    static String key(int format, String collection, String id, String suffix) {
        return "strata:" + format + ":{" + collection + "/" + id + "}:" + suffix;
    }

    static String entryKey(String collection, String id) {
        return key(FORMAT, collection, id, "e");
    }

    static String tokenKey(String collection, String id) {
        return key(FORMAT, collection, id, "f");
    }

    /** This release's entry of the document, or {@code null} when it is not cached. */
    public Entry entry(String collection, String id) {
        String key = entryKey(collection, id);
        Response fields =
                send(Request.cmd(Command.HMGET).arg(key).arg("v").arg("b").arg("f"));
        if (fields.get(0) == null) {
            return null;
        }
        long ttl = send(Request.cmd(Command.PTTL).arg(key)).toLong();
        return new Entry(
                Long.parseLong(fields.get(0).toString()),
                fields.get(1) == null ? null : fields.get(1).toString(),
                ttl,
                Long.parseLong(fields.get(2).toString()));
    }

    public boolean hasFillToken(String collection, String id) {
        return exists(tokenKey(collection, id));
    }

    /** Takes the document's fill token as another instance's reader would after a miss; whether it got it. */
    public boolean takeFillToken(String collection, String id, Duration lifetime) {
        Response reply = send(Request.cmd(Command.SET)
                .arg(tokenKey(collection, id))
                .arg("peer-token")
                .arg("NX")
                .arg("PX")
                .arg(lifetime.toMillis()));
        return reply != null;
    }

    /** Removes the fill token as a reader that gives its lease back would. */
    public void dropFillToken(String collection, String id) {
        send(Request.cmd(Command.DEL).arg(tokenKey(collection, id)));
    }

    /** Stores an entry as another instance's fill would: fresh for an hour. */
    public void fillAsPeer(String collection, String id, long version, String body) {
        send(Request.cmd(Command.HSET)
                .arg(entryKey(collection, id))
                .arg("v")
                .arg(String.valueOf(version))
                .arg("b")
                .arg(body)
                .arg("f")
                .arg(String.valueOf(System.currentTimeMillis() + 3_600_000)));
    }

    /** Makes an entry's freshness end {@code staleBy} ago (its key lives on). */
    public void makeStale(String collection, String id, Duration staleBy) {
        send(Request.cmd(Command.HSET)
                .arg(entryKey(collection, id))
                .arg("f")
                .arg(String.valueOf(System.currentTimeMillis() - staleBy.toMillis())));
    }

    /** Removes a document's entry, as eviction or a Redis restart would. */
    public void evict(String collection, String id) {
        send(Request.cmd(Command.DEL).arg(entryKey(collection, id)));
    }

    public boolean exists(String key) {
        return send(Request.cmd(Command.EXISTS).arg(key)).toInteger() == 1;
    }

    /** Sets a field of a hash key, creating it. */
    public void hset(String key, String... fieldsAndValues) {
        Request request = Request.cmd(Command.HSET).arg(key);
        for (String part : fieldsAndValues) {
            request.arg(part);
        }
        send(request);
    }

    public void set(String key, String value) {
        send(Request.cmd(Command.SET).arg(key).arg(value));
    }

    public String get(String key) {
        Response value = send(Request.cmd(Command.GET).arg(key));
        return value == null ? null : value.toString();
    }

    /** The Redis Cluster slot of a key. */
    public int slot(String key) {
        return send(Request.cmd(Command.CLUSTER).arg("KEYSLOT").arg(key)).toInteger();
    }

    /** The master ({@code host:port}) that serves a key's slot, by the cluster's own slot map. */
    public String masterOf(String key) {
        int slot = slot(key);
        for (Response range : send(Request.cmd(Command.CLUSTER).arg("SLOTS"))) {
            if (range.get(0).toInteger() <= slot && slot <= range.get(1).toInteger()) {
                Response master = range.get(2);
                return master.get(0).toString() + ":" + master.get(1).toInteger();
            }
        }
        throw new IllegalStateException("no master serves slot " + slot);
    }

    private Response send(Request request) {
        return redis.send(request).await().atMost(TIMEOUT);
    }
}
