package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheHooks;
import io.strata.gateway.RedisProbe.Entry;

/**
 * The classic cache races, made deterministic: a read misses, reads storage, and is paused by a
 * hook just before it stores what it read; a write is acknowledged meanwhile; then the fill resumes.
 * The older state must not land in the cache, however long the fill was paused.
 */
@QuarkusTest
class FillRaceTest extends AuthenticatedTest {

    private static final String JSON = "application/json";

    @Inject
    CacheHooks hooks;

    @Inject
    RedisProbe redis;

    /** A fill of one document, paused after its storage read. */
    private final class PausedFill {
        final CompletableFuture<Void> reachedStore = new CompletableFuture<>();
        final CompletableFuture<Void> release = new CompletableFuture<>();
        final CompletableFuture<Response> read;

        PausedFill(String collection, String id) {
            hooks.beforeStore((c, i) -> {
                if (!c.equals(collection) || !i.equals(id)) {
                    return Uni.createFrom().voidItem();
                }
                reachedStore.complete(null);
                return Uni.createFrom().completionStage(release);
            });
            read = CompletableFuture.supplyAsync(() -> given().get("/v1/{c}/docs/{id}", collection, id));
            reachedStore.orTimeout(10, TimeUnit.SECONDS).join();
        }

        Response resume() {
            release.complete(null);
            return read.orTimeout(10, TimeUnit.SECONDS).join();
        }
    }

    @AfterEach
    void removeHook() {
        hooks.reset();
    }

    private static String newCollection() {
        return "race-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static long put(String c, String id, String body) {
        String etag = given().contentType(JSON).body(body).put("/v1/{c}/docs/{id}", c, id)
                .then().statusCode(anyOf(equalTo(200), equalTo(201))).extract().header("ETag");
        return Long.parseLong(etag.replace("\"", ""));
    }

    @Test
    void slowFillCannotOverwriteNewerWrite() {
        String c = newCollection();
        long v1 = put(c, "doc", "{\"v\":1}");
        redis.evict(c, "doc");
        PausedFill fill = new PausedFill(c, "doc");
        long v2 = put(c, "doc", "{\"v\":2}");
        Response racing = fill.resume();
        // the racing read began before the write and may return v1, but must not store it
        racing.then().statusCode(200).header("ETag", "\"" + v1 + "\"").header("Cache-Status", "strata; fwd=miss");
        // the write found nothing cached to update, and the stale fill was discarded: the next read fills v2
        assertNull(redis.entry(c, "doc"), "the stale fill did not land");
        given().get("/v1/{c}/docs/{id}", c, "doc").then().header("ETag", "\"" + v2 + "\"").body("v", equalTo(2))
                .header("Cache-Status", "strata; fwd=miss; stored");
        assertEquals(v2, redis.entry(c, "doc").version());
    }

    @Test
    void slowFillCannotResurrectADeletedDocument() {
        String c = newCollection();
        long v1 = put(c, "doc", "{\"alive\":true}");
        redis.evict(c, "doc");
        PausedFill fill = new PausedFill(c, "doc");
        given().delete("/v1/{c}/docs/{id}", c, "doc").then().statusCode(204);
        fill.resume().then().statusCode(200).header("ETag", "\"" + v1 + "\"").header("Cache-Status", "strata; fwd=miss");
        assertNull(redis.entry(c, "doc"), "the stale fill did not land");
        given().get("/v1/{c}/docs/{id}", c, "doc").then().statusCode(404);
        Entry tombstone = redis.entry(c, "doc");
        assertTrue(tombstone.negative());
        assertTrue(tombstone.version() > v1, "the negative entry carries the deletion's version");
    }

    @Test
    void negativeFillCannotHideACreate() {
        String c = newCollection();
        PausedFill fill = new PausedFill(c, "new");
        long v = put(c, "new", "{\"created\":true}");
        fill.resume().then().statusCode(404).header("Cache-Status", "strata; fwd=miss");
        assertNull(redis.entry(c, "new"), "the negative fill did not land");
        given().get("/v1/{c}/docs/{id}", c, "new").then().statusCode(200).header("ETag", "\"" + v + "\"");
        assertEquals(v, redis.entry(c, "new").version());
        assertFalse(redis.entry(c, "new").negative());
    }

    @Test
    void slowFillCannotLandEvenWhenTheWritersEntryWasEvicted() {
        String c = newCollection();
        put(c, "doc", "{\"v\":1}");
        redis.evict(c, "doc");
        PausedFill fill = new PausedFill(c, "doc");
        long v2 = put(c, "doc", "{\"v\":2}");
        redis.evict(c, "doc"); // the newer entry (or a tombstone) is gone: correctness may not rely on it
        fill.resume().then().header("Cache-Status", "strata; fwd=miss");
        assertNull(redis.entry(c, "doc"), "the stale fill was discarded");
        given().get("/v1/{c}/docs/{id}", c, "doc").then().header("ETag", "\"" + v2 + "\"")
                .header("Cache-Status", "strata; fwd=miss; stored");
    }

    @Test
    void slowNegativeFillCannotLandAfterCreateEvenWhenEvicted() {
        String c = newCollection();
        PausedFill fill = new PausedFill(c, "n");
        long v = put(c, "n", "{}");
        redis.evict(c, "n");
        fill.resume().then().statusCode(404);
        assertNull(redis.entry(c, "n"));
        given().get("/v1/{c}/docs/{id}", c, "n").then().statusCode(200).header("ETag", "\"" + v + "\"");
    }

    @Test
    void fillSlowerThanItsTokenLifetimeIsDiscarded() throws Exception {
        String c = newCollection();
        long v = put(c, "slow", "{}");
        redis.evict(c, "slow");
        PausedFill fill = new PausedFill(c, "slow");
        // the token expires (its lifetime is shortened for tests): nothing may be stored late
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (redis.hasFillToken(c, "slow") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertFalse(redis.hasFillToken(c, "slow"));
        fill.resume().then().statusCode(200).header("Cache-Status", "strata; fwd=miss");
        assertNull(redis.entry(c, "slow"));
        given().get("/v1/{c}/docs/{id}", c, "slow").then().header("ETag", "\"" + v + "\"");
    }

    @Test
    void lateWriteThroughOfAnOlderVersionCannotLandAfterTheEntryWasRemoved() {
        String c = newCollection();
        put(c, "doc", "{\"v\":0}");
        CompletableFuture<Void> paused = new CompletableFuture<>();
        CompletableFuture<Void> release = new CompletableFuture<>();
        hooks.beforeWriteThrough((collection, id) -> {
            if (!collection.equals(c) || paused.isDone()) {
                return Uni.createFrom().voidItem();
            }
            paused.complete(null);
            return Uni.createFrom().completionStage(release);
        });
        CompletableFuture<Response> older = CompletableFuture.supplyAsync(
                () -> given().contentType(JSON).body("{\"v\":1}").put("/v1/{c}/docs/{id}", c, "doc"));
        paused.orTimeout(10, TimeUnit.SECONDS).join(); // v1 committed, its write-through held back
        long v2 = put(c, "doc", "{\"v\":2}");
        redis.evict(c, "doc"); // an invalidation or an eviction removes v2's entry
        release.complete(null);
        long v1 = Long.parseLong(older.orTimeout(10, TimeUnit.SECONDS).join().then().statusCode(200).extract()
                .header("ETag").replace("\"", ""));
        assertTrue(v1 < v2);
        assertNull(redis.entry(c, "doc"), "the late write-through of the older version was refused");
        given().get("/v1/{c}/docs/{id}", c, "doc").then().header("ETag", "\"" + v2 + "\"").body("v", equalTo(2));
    }
}
