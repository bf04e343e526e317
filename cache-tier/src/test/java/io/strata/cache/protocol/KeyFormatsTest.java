package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.BatchLookup;
import io.strata.cache.CachedLookup;
import io.strata.storage.Document;

/**
 * Two releases sharing one Redis (blue-green): every key carries its entry format, so neither release
 * reads the other's entries, and a write of this release removes the document's entry and fill token
 * of the formats next to its own, so that the other release cannot keep serving a copy this write
 * made stale. The previous release's keys are written here as it laid them out (format 1): a hash
 * with {@code v} (version), {@code b} (body) and {@code f} (fresh until), and a version floor
 * {@code w}.
 */
@QuarkusTest
class KeyFormatsTest extends ProtocolTest {

    private static final int PREVIOUS = RedisProbe.FORMAT - 1;
    private static final int NEXT = RedisProbe.FORMAT + 1;

    /** The previous release's entry of the document, fresh for an hour, with its fill token and version floor. */
    private void cachedByThePreviousRelease(String collection, String id, long version, String body) {
        redis.hset(
                RedisProbe.key(PREVIOUS, collection, id, "e"),
                "v",
                String.valueOf(version),
                "b",
                body,
                "f",
                String.valueOf(System.currentTimeMillis() + 3_600_000));
        redis.set(RedisProbe.key(PREVIOUS, collection, id, "f"), "previous-release-token");
        redis.set(RedisProbe.key(PREVIOUS, collection, id, "w"), String.valueOf(version));
    }

    @Test
    void anEntryOfThePreviousFormatNeverAnswersARead() {
        String c = newCollection("format");
        long v = put(c, "doc", "{\"by\":\"this release\"}");
        cachedByThePreviousRelease(c, "doc", v + 1_000_000, "{\"by\":\"the previous release\"}");
        CachedLookup read = read(c, "doc");
        assertEquals(miss(true), read.status());
        assertEquals(v, read.lookup().version());
        assertEquals("{\"by\":\"this release\"}", body(read));
        assertTrue(
                redis.exists(RedisProbe.key(PREVIOUS, c, "doc", "e")),
                "it was there all along, and a read leaves it alone");
    }

    @Test
    void anEntryOfThePreviousFormatNeverAnswersABatchRead() {
        String c = newCollection("format");
        long v = put(c, "doc", "{\"by\":\"this release\"}");
        cachedByThePreviousRelease(c, "doc", v + 1_000_000, "{\"by\":\"the previous release\"}");
        BatchLookup batch = cache.readMany(c, List.of("doc"), 1 << 20).await().atMost(WAIT);
        assertEquals(List.of(v), batch.found().stream().map(Document::version).toList());
        assertEquals(v, redis.entry(c, "doc").version(), "filled in this release's format");
    }

    @Test
    void aWriteRemovesThePreviousFormatsEntryAndFillToken() {
        String c = newCollection("format");
        long v1 = put(c, "doc", "{\"n\":1}");
        cachedByThePreviousRelease(c, "doc", v1, "{\"n\":1}");
        put(c, "doc", "{\"n\":2}");
        assertFalse(
                redis.exists(RedisProbe.key(PREVIOUS, c, "doc", "e")),
                "the previous release cannot serve version " + v1);
        assertFalse(redis.exists(RedisProbe.key(PREVIOUS, c, "doc", "f")), "nor store what it read before this write");
    }

    @Test
    void aDeleteRemovesThePreviousFormatsEntryAndFillToken() {
        String c = newCollection("format");
        long v1 = put(c, "doc", "{}");
        cachedByThePreviousRelease(c, "doc", v1, "{}");
        delete(c, "doc");
        assertFalse(redis.exists(RedisProbe.key(PREVIOUS, c, "doc", "e")));
        assertFalse(redis.exists(RedisProbe.key(PREVIOUS, c, "doc", "f")));
    }

    @Test
    void aWriteRemovesTheNextFormatsEntryAndFillToken() {
        String c = newCollection("format");
        long v1 = put(c, "doc", "{\"n\":1}");
        redis.hset(RedisProbe.key(NEXT, c, "doc", "e"), "v", String.valueOf(v1), "b", "{\"n\":1}");
        redis.set(RedisProbe.key(NEXT, c, "doc", "f"), "next-release-token");
        put(c, "doc", "{\"n\":2}");
        assertFalse(redis.exists(RedisProbe.key(NEXT, c, "doc", "e")));
        assertFalse(redis.exists(RedisProbe.key(NEXT, c, "doc", "f")));
    }

    @Test
    void aDocumentsKeysOfEveryFormatShareOneSlot() {
        String c = newCollection("format");
        int slot = redis.slot(RedisProbe.entryKey(c, "doc"));
        for (String key : List.of(
                RedisProbe.tokenKey(c, "doc"),
                RedisProbe.key(PREVIOUS, c, "doc", "e"),
                RedisProbe.key(PREVIOUS, c, "doc", "f"),
                RedisProbe.key(PREVIOUS, c, "doc", "w"),
                RedisProbe.key(NEXT, c, "doc", "e"),
                RedisProbe.key(NEXT, c, "doc", "f"))) {
            assertEquals(slot, redis.slot(key), key);
        }
    }
}
