package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.strata.storage.DocumentStore;
import io.strata.storage.Precondition;

/**
 * The near cache: used only by reads that accept staleness, invalidated by this instance's writes
 * before they are acknowledged, by other instances' writes through the invalidation channel, and
 * never serving an answer older than the client's {@code max-stale}. (Tests run with a 5 s near-cache
 * TTL, so that an invalidation is told apart from expiry.)
 */
@QuarkusTest
class NearCacheTest extends AuthenticatedTest {

    private static final String JSON = "application/json";

    @Inject
    RedisProbe redis;

    @Inject
    DocumentStore store;

    @Inject
    MeterRegistry registry;

    @Inject
    io.strata.storage.ChangeLog changes;

    private static String newCollection() {
        return "near-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static long put(String c, String id, String body) {
        String etag = given().contentType(JSON)
                .body(body)
                .put("/v1/{c}/docs/{id}", c, id)
                .then()
                .statusCode(anyOf(equalTo(200), equalTo(201)))
                .extract()
                .header("ETag");
        return Long.parseLong(etag.replace("\"", ""));
    }

    private static Response get(String c, String id, String cacheControl) {
        return cacheControl == null
                ? given().get("/v1/{c}/docs/{id}", c, id)
                : given().header("Cache-Control", cacheControl).get("/v1/{c}/docs/{id}", c, id);
    }

    private static long version(Response response) {
        return Long.parseLong(response.header("ETag").replace("\"", ""));
    }

    /** Reads until the near cache answers: it serves nothing until its invalidation channel is up. */
    private static Response awaitNearHit(String c, String id, String cacheControl) throws InterruptedException {
        return await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(
                        () -> get(c, id, cacheControl),
                        response -> "strata-near; hit".equals(response.header("Cache-Status")));
    }

    /** A write made by another instance: committed to storage and written through to Redis. */
    private long peerWrite(String c, String id, String body) {
        long version = store.put(c, id, body.getBytes(StandardCharsets.UTF_8), Precondition.NONE)
                .await()
                .atMost(Duration.ofSeconds(10))
                .version();
        redis.store(c, id, version, body);
        // as the peer's write-through would: its change is done with
        changes.confirm(java.util.List.of(new io.strata.storage.ChangeLog.Change(c, id, version)))
                .await()
                .atMost(Duration.ofSeconds(10));
        return version;
    }

    private double nearReads(String result) {
        var counter =
                registry.find("strata.cache.near.reads").tag("result", result).counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void strictReadsAreAnsweredFromTheNearCacheUnderItsLease() throws Exception {
        String c = newCollection();
        long v = put(c, "s", "{\"s\":1}");
        // the first read fills Redis and the near cache; then this instance answers from memory
        Response first = get(c, "s", null);
        first.then().statusCode(200).header("ETag", "\"" + v + "\"");
        assertTrue(
                first.header("Cache-Status").startsWith("strata; fwd=miss; stored, strata-near; fwd=miss"),
                first.header("Cache-Status"));
        awaitNearHit(c, "s", null);
        double hits = nearReads("hit");
        for (int i = 0; i < 3; i++) {
            get(c, "s", null)
                    .then()
                    .statusCode(200)
                    .header("Cache-Status", "strata-near; hit")
                    .header("ETag", "\"" + v + "\"");
            get(c, "s", "max-stale=0").then().statusCode(200).header("Cache-Status", "strata-near; hit");
        }
        assertEquals(hits + 6, nearReads("hit"));
        // no-cache still revalidates with storage
        get(c, "s", "no-cache").then().statusCode(200).header("Cache-Status", "strata; fwd=request; stored");
    }

    @Test
    void aReadThatAcceptsStalenessIsAnsweredFromTheNearCache() throws Exception {
        String c = newCollection();
        long v = put(c, "n", "{\"near\":true}");
        // the first read is strict (a miss that fills, or storage while a repair of the cache is under way) and names
        // both tiers
        String first =
                get(c, "n", "max-stale=10").then().statusCode(200).extract().header("Cache-Status");
        assertTrue(first.matches("strata; (hit|fwd=miss; stored|fwd=bypass), strata-near; fwd=miss(; stored)?"), first);
        awaitNearHit(c, "n", "max-stale=10");
        double hits = nearReads("hit");
        Response answer = get(c, "n", "max-stale=10");
        answer.then().statusCode(200).header("Cache-Status", "strata-near; hit").header("ETag", "\"" + v + "\"");
        assertEquals("{\"near\":true}", answer.asString(), "the body as it was written");
        assertEquals(hits + 1, nearReads("hit"));
        // If-None-Match is answered from the near cache too
        given().header("Cache-Control", "max-stale=10")
                .header("If-None-Match", "\"" + v + "\"")
                .get("/v1/{c}/docs/{id}", c, "n")
                .then()
                .statusCode(304)
                .header("Cache-Status", "strata-near; hit");
        // no-cache always revalidates with storage
        get(c, "n", "max-stale=10, no-cache")
                .then()
                .statusCode(200)
                .header("Cache-Status", "strata; fwd=request; stored");
    }

    @Test
    void aWriteThroughThisInstanceIsNeverFollowedByAnOlderNearRead() throws Exception {
        String c = newCollection();
        put(c, "w", "{\"n\":0}");
        awaitNearHit(c, "w", "max-stale=60");
        for (int n = 1; n <= 30; n++) {
            long v = put(c, "w", "{\"n\":" + n + "}");
            Response read = get(c, "w", "max-stale=60");
            assertEquals(v, version(read), "read after write " + n + ": " + read.header("Cache-Status"));
            assertEquals("{\"n\":" + n + "}", read.asString());
        }
        given().delete("/v1/{c}/docs/{id}", c, "w").then().statusCode(204);
        get(c, "w", "max-stale=60").then().statusCode(404);
    }

    @Test
    void anotherInstancesWriteReachesTheNearCacheThroughTheChannel() throws Exception {
        String c = newCollection();
        long v1 = put(c, "p", "{\"v\":1}");
        awaitNearHit(c, "p", "max-stale=60");
        long v2 = peerWrite(c, "p", "{\"v\":2}");
        // not announced yet: the near cache may lag, within the client's bound
        Response lagging = get(c, "p", "max-stale=60");
        assertEquals(v1, version(lagging), lagging.header("Cache-Status"));
        assertEquals("strata-near; hit", lagging.header("Cache-Status"));
        redis.announce(c, "p");
        // the near-cache TTL here is 5 s: only the announcement can have removed the older copy this soon
        await("the announced write is read")
                .atMost(Duration.ofSeconds(3))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> version(get(c, "p", "max-stale=60")), seen -> seen == v2);
    }

    @Test
    void aCollectionCanMakeBoundedStalenessItsDefault() throws Exception {
        String c = "near-default";
        String id = "d-" + UUID.randomUUID();
        put(c, id, "{\"d\":true}");
        awaitNearHit(c, id, null);
        get(c, id, "max-stale=0").then().statusCode(200).header("Cache-Status", "strata-near; hit");
        get(c, id, "no-cache").then().statusCode(200).header("Cache-Status", "strata; fwd=request; stored");
    }
}
