package io.strata.gateway;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * Reads and changes the cache's Redis keys directly, to assert what the cache holds. The key names
 * are part of the cache protocol: {@code strata:2:{collection/id}:e} (entry) and {@code …:f} (fill token).
 */
@ApplicationScoped
public class RedisProbe {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final Redis redis;

    RedisProbe(Redis redis) {
        this.redis = redis;
    }

    /** What a cache entry holds. {@code body == null} with a version: a negative entry. */
    public record Entry(long version, String body, long ttlMillis, long freshUntil) {
        boolean negative() {
            return body == null;
        }
    }

    static String entryKey(String collection, String id) {
        return "strata:2:{" + collection + "/" + id + "}:e";
    }

    static String tokenKey(String collection, String id) {
        return "strata:2:{" + collection + "/" + id + "}:f";
    }

    /** The entry, or {@code null} when the document is not cached. */
    public Entry entry(String collection, String id) {
        String key = entryKey(collection, id);
        Response fields = send(Request.cmd(Command.HMGET).arg(key).arg("v").arg("b").arg("f"));
        if (fields.get(0) == null) {
            return null;
        }
        long ttl = send(Request.cmd(Command.PTTL).arg(key)).toLong();
        return new Entry(Long.parseLong(fields.get(0).toString()),
                fields.get(1) == null ? null : fields.get(1).toString(), ttl, Long.parseLong(fields.get(2).toString()));
    }

    public boolean hasFillToken(String collection, String id) {
        return send(Request.cmd(Command.EXISTS).arg(tokenKey(collection, id))).toInteger() == 1;
    }

    /** Makes an entry's freshness end {@code staleBy} ago. */
    public void makeStale(String collection, String id, java.time.Duration staleBy) {
        send(Request.cmd(Command.HSET).arg(entryKey(collection, id)).arg("f")
                .arg(String.valueOf(System.currentTimeMillis() - staleBy.toMillis())));
    }

    /** Removes a document's entry, as eviction or a Redis restart would. */
    public void evict(String collection, String id) {
        send(Request.cmd(Command.DEL).arg(entryKey(collection, id)));
    }

    /** Stores an entry as another instance's write-through would, without telling any near cache. */
    public void store(String collection, String id, long version, String body) {
        send(Request.cmd(Command.HSET).arg(entryKey(collection, id)).arg("v").arg(String.valueOf(version))
                .arg("b").arg(body).arg("f").arg(String.valueOf(System.currentTimeMillis() + 3_600_000)));
    }

    /** Publishes a near-cache invalidation of the document as another instance's write-through does. */
    public void announce(String collection, String id) {
        send(Request.cmd(Command.PUBLISH).arg("strata:2:{near-invalidations}")
                .arg(entryKey(collection, id) + " " + System.currentTimeMillis() + " peer0000 -"));
    }

    /** Which master serves the document's slot (for spreading test ids over the cluster). */
    public int slot(String collection, String id) {
        return send(Request.cmd(Command.CLUSTER).arg("KEYSLOT").arg(entryKey(collection, id))).toInteger();
    }

    private Response send(Request request) {
        return redis.send(request).await().atMost(TIMEOUT);
    }
}
