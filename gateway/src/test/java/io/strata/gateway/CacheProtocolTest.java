package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.BatchLookup;
import io.strata.cache.DocumentCache;
import io.strata.gateway.RedisProbe.Entry;
import io.strata.storage.DocumentStore;
import io.strata.storage.Page;

/** Cache-Status on every read, and what Redis holds after fills, writes and deletes. */
@QuarkusTest
class CacheProtocolTest extends AuthenticatedTest {

    private static final String JSON = "application/json";

    @Inject
    RedisProbe redis;

    @Inject
    DocumentCache cache;

    @Inject
    DocumentStore store;

    private static String newCollection() {
        return "cache-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static long put(String c, String id, String body) {
        String etag = given().contentType(JSON).body(body).put("/v1/{c}/docs/{id}", c, id)
                .then().statusCode(org.hamcrest.Matchers.anyOf(equalTo(200), equalTo(201))).extract().header("ETag");
        return Long.parseLong(etag.replace("\"", ""));
    }

    /** Writes, then reads once so that the document is cached (a write-through updates entries, it never creates one). */
    private static long putCached(String c, String id, String body) {
        long version = put(c, id, body);
        given().get("/v1/{c}/docs/{id}", c, id).then().statusCode(200).header("ETag", "\"" + version + "\"");
        return version;
    }

    @Test
    void aWriteUpdatesTheCachedEntryAndNeverCreatesOne() {
        String c = newCollection();
        long v1 = put(c, "w", "{\"n\":1}");
        assertNull(redis.entry(c, "w"), "a write-through creates no entry: only a fill under its token may");
        given().get("/v1/{c}/docs/{id}", c, "w").then().statusCode(200).header("Cache-Status", "strata; fwd=miss; stored");
        Entry entry = redis.entry(c, "w");
        assertEquals(v1, entry.version());
        assertEquals("{\"n\":1}", entry.body());
        long fresh = entry.freshUntil() - System.currentTimeMillis();
        assertTrue(fresh > 3_500_000 && fresh <= 3_960_000, "fresh for about 1 h with jitter: " + fresh);
        long staleWindow = entry.ttlMillis() - fresh;
        assertTrue(staleWindow > 590_000 && staleWindow <= 610_000, "the key outlives freshness by 10 min: " + staleWindow);
        given().get("/v1/{c}/docs/{id}", c, "w").then().statusCode(200).header("Cache-Status", "strata; hit");
        long v2 = put(c, "w", "{\"n\":2}");
        assertEquals(v2, redis.entry(c, "w").version(), "the cached entry follows the write");
        assertEquals("{\"n\":2}", redis.entry(c, "w").body());
        given().get("/v1/{c}/docs/{id}", c, "w").then().statusCode(200).header("Cache-Status", "strata; hit")
                .header("ETag", "\"" + v2 + "\"");
    }

    @Test
    void missFillsTheCacheThenHits() {
        String c = newCollection();
        long v = put(c, "m", "{\"m\":true}");
        redis.evict(c, "m");
        given().get("/v1/{c}/docs/{id}", c, "m").then().statusCode(200)
                .header("Cache-Status", "strata; fwd=miss; stored").header("ETag", "\"" + v + "\"");
        Entry filled = redis.entry(c, "m");
        assertEquals(v, filled.version());
        assertEquals("{\"m\":true}", filled.body());
        assertFalse(redis.hasFillToken(c, "m"), "a successful fill removes its token");
        given().get("/v1/{c}/docs/{id}", c, "m").then().statusCode(200).header("Cache-Status", "strata; hit");
    }

    @Test
    void absentDocumentIsCachedAsShortLivedNegativeEntry() {
        String c = newCollection();
        given().get("/v1/{c}/docs/{id}", c, "ghost").then().statusCode(404)
                .header("Cache-Status", "strata; fwd=miss; stored");
        Entry negative = redis.entry(c, "ghost");
        assertTrue(negative.negative());
        assertEquals(0, negative.version(), "a document that never existed has version 0");
        long fresh = negative.freshUntil() - System.currentTimeMillis();
        assertTrue(fresh > 0 && fresh <= 30_000, "a negative entry is fresh for 30 s: " + fresh);
        given().get("/v1/{c}/docs/{id}", c, "ghost").then().statusCode(404).header("Cache-Status", "strata; hit");
    }

    @Test
    void createReplacesANegativeEntry() {
        String c = newCollection();
        given().get("/v1/{c}/docs/{id}", c, "later").then().statusCode(404);
        long v = put(c, "later", "{}");
        given().get("/v1/{c}/docs/{id}", c, "later").then().statusCode(200).header("Cache-Status", "strata; hit")
                .header("ETag", "\"" + v + "\"");
    }

    @Test
    void deleteLeavesTombstoneWithTheDeletionVersion() {
        String c = newCollection();
        long created = putCached(c, "t", "{}");
        given().delete("/v1/{c}/docs/{id}", c, "t").then().statusCode(204);
        Entry tombstone = redis.entry(c, "t");
        assertTrue(tombstone.negative());
        assertTrue(tombstone.version() > created, "the tombstone carries the deletion's version");
        given().get("/v1/{c}/docs/{id}", c, "t").then().statusCode(404).header("Cache-Status", "strata; hit");
        redis.evict(c, "t");
        given().get("/v1/{c}/docs/{id}", c, "t").then().statusCode(404).header("Cache-Status", "strata; fwd=miss; stored");
        assertEquals(tombstone.version(), redis.entry(c, "t").version(), "storage kept the deletion's version");
    }

    @Test
    void noCacheReadsStorageAndRefreshesTheCache() {
        String c = newCollection();
        long v = put(c, "nc", "{\"x\":1}");
        given().header("Cache-Control", "no-cache").get("/v1/{c}/docs/{id}", c, "nc").then().statusCode(200)
                .header("Cache-Status", "strata; fwd=request; stored").header("ETag", "\"" + v + "\"");
        given().header("Cache-Control", "max-age=60, No-Cache").get("/v1/{c}/docs/{id}", c, "nc").then()
                .header("Cache-Status", "strata; fwd=request; stored");
        assertEquals(v, redis.entry(c, "nc").version());
        given().get("/v1/{c}/docs/{id}", c, "nc").then().header("Cache-Status", "strata; hit");
    }

    @Test
    void entriesOfOneDocumentShareASlotAndDocumentsSpreadOverTheCluster() {
        String c = newCollection();
        Set<Integer> masters = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            masters.add(redis.slot(c, "s" + i) * 3 / 16384);
        }
        assertEquals(3, masters.size(), "30 ids reach all three masters' slot ranges");
    }

    @Test
    void batchGetReadsAcrossSlotsThroughTheCache() {
        String c = newCollection();
        List<String> ids = IntStream.range(0, 40).mapToObj(i -> "b" + i).toList();
        for (String id : ids) {
            put(c, id, "{\"id\":\"" + id + "\"}");
        }
        for (String id : ids.subList(0, 20)) {
            redis.evict(c, id);
        }
        BatchLookup batch = cache.readMany(c, ids, 16 << 20).await().indefinitely();
        assertEquals(ids, batch.found().stream().map(d -> d.id()).toList());
        for (String id : ids.subList(0, 20)) {
            assertNotNull(redis.entry(c, id), "batch misses are filled: " + id);
        }
    }

    @Test
    void batchGetStopsAtItsByteBudgetAndListsTheRestAsUnprocessed() {
        String c = newCollection();
        String body = "{\"pad\":\"" + "p".repeat(90) + "\"}"; // 100 bytes
        List<String> ids = IntStream.range(0, 10).mapToObj(i -> "u" + i).toList();
        for (String id : ids) {
            put(c, id, body);
        }
        redis.evict(c, "u1");
        BatchLookup batch = cache.readMany(c, ids, 450).await().indefinitely();
        assertEquals(List.of("u0", "u1", "u2", "u3"), batch.found().stream().map(d -> d.id()).toList());
        assertEquals(ids.subList(4, 10), batch.unprocessed());
        assertTrue(batch.missing().isEmpty());
        // a body larger than its share of the budget is fetched in a second round
        BatchLookup large = cache.readMany(c, ids.subList(0, 3), 250).await().indefinitely();
        assertEquals(List.of("u0", "u1"), large.found().stream().map(d -> d.id()).toList());
        assertEquals(List.of("u2"), large.unprocessed());
    }

    @Test
    void storageSendsNoBodyPastTheBudgetButAlwaysTheFirst() {
        String c = newCollection();
        String body = "{\"pad\":\"" + "p".repeat(90) + "\"}"; // 100 bytes
        List<String> ids = List.of("u0", "u1", "u2", "u3");
        for (String id : ids) {
            put(c, id, body);
        }
        // 250 bytes hold two bodies: the third would take the total past the budget
        DocumentStore.Many many = store.readMany(c, ids, 250).await().indefinitely();
        assertEquals(Set.of("u0", "u1"), many.lookups().keySet());
        assertEquals(List.of("u2", "u3"), many.deferred());
        Page page = store.list(c, null, 10, 250).await().indefinitely();
        assertEquals(List.of("u0", "u1"), page.documents().stream().map(d -> d.id()).toList());
        assertEquals("u1", page.lastId());
        // a body larger than the whole budget still comes, alone
        assertEquals(Set.of("u0"), store.readMany(c, ids, 50).await().indefinitely().lookups().keySet());
        assertEquals(1, store.list(c, null, 10, 50).await().indefinitely().documents().size());
    }

    @Test
    void oneDocumentLargerThanTheBudgetIsStillReturned() {
        String c = newCollection();
        put(c, "huge", "{\"pad\":\"" + "h".repeat(500) + "\"}");
        BatchLookup batch = cache.readMany(c, List.of("huge", "none"), 100).await().indefinitely();
        assertEquals(1, batch.found().size());
        assertEquals(List.of("none"), batch.missing());
        assertTrue(batch.unprocessed().isEmpty());
    }

    @Test
    void entryPastFreshnessIsServedAtOnceAndRefreshedInTheBackground() throws Exception {
        String c = newCollection();
        long v = putCached(c, "swr", "{\"s\":1}");
        redis.makeStale(c, "swr", java.time.Duration.ofSeconds(5)); // within the 30 s window
        given().get("/v1/{c}/docs/{id}", c, "swr").then().statusCode(200).header("ETag", "\"" + v + "\"")
                .header("Cache-Status", org.hamcrest.Matchers.matchesPattern("strata; hit; ttl=-[0-9]+; detail=stale-while-revalidate"));
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (redis.entry(c, "swr").freshUntil() < System.currentTimeMillis() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(redis.entry(c, "swr").freshUntil() > System.currentTimeMillis(), "one background read refreshed the entry");
        given().get("/v1/{c}/docs/{id}", c, "swr").then().header("Cache-Status", "strata; hit");
    }

    @Test
    void entryPastTheRevalidationWindowIsRevalidatedWithStorage() {
        String c = newCollection();
        long v = putCached(c, "old", "{}");
        redis.makeStale(c, "old", java.time.Duration.ofMinutes(5)); // past the 30 s window
        given().get("/v1/{c}/docs/{id}", c, "old").then().statusCode(200).header("ETag", "\"" + v + "\"")
                .header("Cache-Status", "strata; fwd=stale; stored");
        given().get("/v1/{c}/docs/{id}", c, "old").then().header("Cache-Status", "strata; hit");
    }
}
