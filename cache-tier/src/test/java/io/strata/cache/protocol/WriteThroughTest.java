package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.CacheStatus;
import io.strata.cache.CachedLookup;
import io.strata.storage.Lookup;
import io.strata.storage.Precondition;

/**
 * What a write does to the cache before it is acknowledged ({@link WriteThrough}): it brings a cached
 * entry up to its version (a negative one for a deletion), never creates one, and always removes the
 * fill token.
 */
@QuarkusTest
class WriteThroughTest extends ProtocolTest {

    @Test
    void aWriteOfAnUncachedDocumentCreatesNoEntry() {
        String c = newCollection("write");
        put(c, "w", "{\"n\":1}");
        assertNull(redis.entry(c, "w"), "only a fill under its token creates an entry");
        delete(c, "w");
        assertNull(redis.entry(c, "w"), "nor does a deletion");
    }

    @Test
    void aWriteBringsTheCachedEntryToItsVersion() {
        String c = newCollection("write");
        putCached(c, "w", "{\"n\":1}");
        long v2 = put(c, "w", "{\"n\":2}");
        RedisProbe.Entry entry = redis.entry(c, "w");
        assertEquals(v2, entry.version());
        assertEquals("{\"n\":2}", entry.body());
        CachedLookup read = read(c, "w");
        assertEquals(CacheStatus.HIT, read.status());
        assertEquals(v2, read.lookup().version());
        assertEquals("{\"n\":2}", body(read));
    }

    @Test
    void anUpdateIsWrittenThroughAsItsNewBody() {
        String c = newCollection("write");
        long v1 = putCached(c, "u", "{\"n\":1}");
        long v2 = cache.update(
                        c,
                        "u",
                        Precondition.NONE,
                        body -> utf8(new String(body, StandardCharsets.UTF_8).replace('1', '2')))
                .await()
                .atMost(WAIT)
                .version();
        assertTrue(v2 > v1);
        RedisProbe.Entry entry = redis.entry(c, "u");
        assertEquals(v2, entry.version());
        assertEquals("{\"n\":2}", entry.body());
    }

    @Test
    void aCreateReplacesANegativeEntry() {
        String c = newCollection("write");
        assertTrue(read(c, "later").lookup() instanceof Lookup.Absent);
        assertTrue(redis.entry(c, "later").negative());
        long v = put(c, "later", "{}");
        CachedLookup read = read(c, "later");
        assertEquals(CacheStatus.HIT, read.status());
        assertEquals(v, read.lookup().version());
        assertEquals("{}", body(read));
    }

    @Test
    void aDeleteTurnsTheCachedEntryIntoANegativeEntryOfTheDeletionsVersion() {
        String c = newCollection("write");
        long created = putCached(c, "t", "{}");
        long deleted = delete(c, "t");
        assertTrue(deleted > created);
        RedisProbe.Entry tombstone = redis.entry(c, "t");
        assertTrue(tombstone.negative());
        assertEquals(deleted, tombstone.version());
        long fresh = tombstone.freshUntil() - System.currentTimeMillis();
        assertTrue(fresh > 0 && fresh <= 30_000, "fresh as long as a negative entry: " + fresh);
        CachedLookup read = read(c, "t");
        assertEquals(CacheStatus.HIT, read.status());
        assertEquals(new Lookup.Absent(c, "t", deleted), read.lookup());
    }

    @Test
    void anEvictedNegativeEntryIsFilledAgainWithTheDeletionsVersion() {
        String c = newCollection("write");
        putCached(c, "t", "{}");
        long deleted = delete(c, "t");
        redis.evict(c, "t");
        CachedLookup read = read(c, "t");
        assertEquals(miss(true), read.status());
        assertEquals(new Lookup.Absent(c, "t", deleted), read.lookup(), "storage kept the deletion's version");
        assertEquals(deleted, redis.entry(c, "t").version());
    }

    @Test
    void everyWriteRemovesTheFillToken() {
        String c = newCollection("write");
        put(c, "f", "{\"n\":1}");
        assertTrue(redis.takeFillToken(c, "f", Duration.ofSeconds(30)), "a reader took the lease");
        put(c, "f", "{\"n\":2}");
        assertFalse(redis.hasFillToken(c, "f"), "a put removes it");
        assertTrue(redis.takeFillToken(c, "f", Duration.ofSeconds(30)));
        cache.update(c, "f", Precondition.NONE, body -> utf8("{\"n\":3}"))
                .await()
                .atMost(WAIT);
        assertFalse(redis.hasFillToken(c, "f"), "an update removes it");
        assertTrue(redis.takeFillToken(c, "f", Duration.ofSeconds(30)));
        delete(c, "f");
        assertFalse(redis.hasFillToken(c, "f"), "a delete removes it");
    }
}
