package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.strata.gateway.security.ApiKeys;
import io.strata.storage.ApiKeyStore;

/** API keys, scopes and tenant isolation, revocation, the admin API and per-key rate limits. */
@QuarkusTest
class SecurityTest {

    private static final String PROBLEM = "application/problem+json";

    @Inject
    ApiKeys keys;

    @Inject
    ApiKeyStore store;

    @BeforeEach
    void noDefaultKey() {
        RestAssured.requestSpecification = null;
    }

    private static RequestSpecification as(String secret) {
        return given().header("Authorization", "Bearer " + secret);
    }

    private static String suffix() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void everyRouteNeedsAValidKey() {
        for (String path : List.of("/v1/books/docs/x", "/v1/books/docs", "/admin/keys")) {
            given().get(path)
                    .then()
                    .statusCode(401)
                    .contentType(PROBLEM)
                    .header("WWW-Authenticate", startsWith("Bearer"))
                    .body("status", equalTo(401));
            given().header("Authorization", "Bearer sk_" + "x".repeat(40))
                    .get(path)
                    .then()
                    .statusCode(401)
                    .contentType(PROBLEM);
            given().header("Authorization", "Basic dXNlcjpwYXNz")
                    .get(path)
                    .then()
                    .statusCode(401)
                    .contentType(PROBLEM);
            given().header("Authorization", "Bearer " + "a".repeat(300))
                    .get(path)
                    .then()
                    .statusCode(401)
                    .contentType(PROBLEM);
        }
        given().contentType("application/json")
                .body("{}")
                .put("/v1/books/docs/x")
                .then()
                .statusCode(401);
        // a target that matches no route reaches nothing: 404, with or without a key
        given().get("/v1/no/such/route").then().statusCode(404).contentType(PROBLEM);
        // health and metrics are on the management port, open to probes and Prometheus, and not on the API port
        Management.given().get("/q/health/live").then().statusCode(200);
        given().get("/q/health/live").then().statusCode(404);
    }

    @Test
    void aKeyNeverTouchesAnotherTenantsCollections() {
        String s = suffix();
        String tenantA = TestKeys.create(keys, "read:tenant-a-*", "write:tenant-a-*");
        String tenantB = TestKeys.create(keys, "read:tenant-b-*", "write:tenant-b-*");
        String collection = "tenant-a-" + s;
        as(tenantA)
                .contentType("application/json")
                .body("{\"secret\":\"of a\"}")
                .put("/v1/{c}/docs/{id}", collection, "doc")
                .then()
                .statusCode(201);
        // every operation of B on A's collection: 403, the same answer whether the document exists or not
        List<Response> refusals = new ArrayList<>();
        for (String id : List.of("doc", "never-written")) {
            refusals.add(as(tenantB).get("/v1/{c}/docs/{id}", collection, id));
            refusals.add(as(tenantB).header("If-None-Match", "*").get("/v1/{c}/docs/{id}", collection, id));
            refusals.add(as(tenantB)
                    .contentType("application/json")
                    .body("{\"stolen\":true}")
                    .put("/v1/{c}/docs/{id}", collection, id));
            refusals.add(as(tenantB)
                    .contentType("application/merge-patch+json")
                    .body("{}")
                    .patch("/v1/{c}/docs/{id}", collection, id));
            refusals.add(as(tenantB).delete("/v1/{c}/docs/{id}", collection, id));
        }
        refusals.add(as(tenantB).get("/v1/{c}/docs", collection));
        refusals.add(as(tenantB)
                .urlEncodingEnabled(false)
                .contentType("application/json")
                .body("{\"ids\":[\"doc\"]}")
                .post("/v1/" + collection + "/docs:batchGet"));
        String firstBody = refusals.get(0).asString();
        for (Response refusal : refusals) {
            refusal.then().statusCode(403).contentType(PROBLEM);
            assertEquals(firstBody, refusal.asString(), "a refusal says nothing about what exists");
            assertFalse(refusal.asString().contains("of a"));
        }
        // A's document is untouched, and B still works in its own tenant
        as(tenantA)
                .get("/v1/{c}/docs/{id}", collection, "doc")
                .then()
                .statusCode(200)
                .body(equalTo("{\"secret\":\"of a\"}"));
        as(tenantB)
                .contentType("application/json")
                .body("{}")
                .put("/v1/{c}/docs/{id}", "tenant-b-" + s, "doc")
                .then()
                .statusCode(201);
        // a prefix is a prefix: tenant-a-* does not cover tenant-ab
        as(tenantA).get("/v1/{c}/docs/{id}", "tenant-b-" + s, "doc").then().statusCode(403);
    }

    @Test
    void readScopeReadsAndCannotWrite() {
        String c = "orders-" + suffix();
        String writer = TestKeys.create(keys, "write:" + c);
        String reader = TestKeys.create(keys, "read:" + c);
        as(writer)
                .contentType("application/json")
                .body("{\"n\":1}")
                .put("/v1/{c}/docs/{id}", c, "o1")
                .then()
                .statusCode(201);
        as(writer).get("/v1/{c}/docs/{id}", c, "o1").then().statusCode(200);
        as(reader).get("/v1/{c}/docs/{id}", c, "o1").then().statusCode(200).body(equalTo("{\"n\":1}"));
        as(reader)
                .urlEncodingEnabled(false)
                .contentType("application/json")
                .body("{\"ids\":[\"o1\"]}")
                .post("/v1/" + c + "/docs:batchGet")
                .then()
                .statusCode(200);
        as(reader)
                .contentType("application/json")
                .body("{\"n\":2}")
                .put("/v1/{c}/docs/{id}", c, "o1")
                .then()
                .statusCode(403);
        as(reader).delete("/v1/{c}/docs/{id}", c, "o1").then().statusCode(403);
        as(reader).get("/admin/keys").then().statusCode(403).contentType(PROBLEM);
        as(writer).get("/v1/{c}/docs/{id}", c, "o1").then().statusCode(200).body(equalTo("{\"n\":1}"));
    }

    @Test
    void adminCreatesListsAndRevokesKeysAndSecretsAreShownOnce() {
        String admin = TestKeys.create(keys, "admin");
        String c = "admin-made-" + suffix();
        Response created = as(admin)
                .contentType("application/json")
                .body("{\"name\":\"ci\",\"scopes\":[\"read:" + c + "\",\"write:" + c + "\"],\"rateLimit\":50}")
                .post("/admin/keys");
        created.then()
                .statusCode(201)
                .body("secret", startsWith("sk_"))
                .body("id", startsWith("key_"))
                .body("rateLimit", equalTo(50));
        String secret = created.path("secret");
        String id = created.path("id");
        as(secret)
                .contentType("application/json")
                .body("{}")
                .put("/v1/{c}/docs/{id}", c, "d")
                .then()
                .statusCode(201);
        String listing = as(admin)
                .get("/admin/keys")
                .then()
                .statusCode(200)
                .body("items.find { it.id == '" + id + "' }.name", equalTo("ci"))
                .extract()
                .asString();
        assertFalse(listing.contains(secret), "the list never shows a secret");
        assertFalse(listing.contains(keys.hash(secret)), "nor the stored hash");
        assertFalse(listing.contains("\"secret\""));
        // invalid requests change nothing
        as(admin)
                .contentType("application/json")
                .body("{\"name\":\"x\",\"scopes\":[\"root\"]}")
                .post("/admin/keys")
                .then()
                .statusCode(400)
                .contentType(PROBLEM);
        as(admin)
                .contentType("application/json")
                .body("not json")
                .post("/admin/keys")
                .then()
                .statusCode(400)
                .contentType(PROBLEM);
        as(admin)
                .delete("/admin/keys/{id}", "key_nosuchkey")
                .then()
                .statusCode(404)
                .contentType(PROBLEM);
        // revocation takes effect at once on this instance
        as(admin).delete("/admin/keys/{id}", id).then().statusCode(204);
        as(secret).get("/v1/{c}/docs/{id}", c, "d").then().statusCode(401).contentType(PROBLEM);
        as(admin).get("/admin/keys").then().body("items.find { it.id == '" + id + "' }.revokedAt", notNullValue());
    }

    @Test
    void aRevocationByAnotherInstanceReachesThisOneBeforeTheKeyCacheExpires() throws Exception {
        String c = "revoked-elsewhere-" + suffix();
        var created = keys.create("elsewhere", List.of("read:" + c), 0).await().atMost(Duration.ofSeconds(10));
        as(created.secret()).get("/v1/{c}/docs/{id}", c, "x").then().statusCode(404); // verified and cached here
        // another instance revokes it: the store's announcement is all this instance hears
        store.revoke(created.key().id()).await().atMost(Duration.ofSeconds(10));
        // the key cache keeps verified keys 10 s: only the announcement can have removed it this soon
        await("the revoked key is refused")
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(20))
                .until(
                        () -> as(created.secret())
                                .get("/v1/{c}/docs/{id}", c, "x")
                                .statusCode(),
                        status -> status == 401);
    }

    @Test
    void aKeysRateLimitIsEnforcedWith429AndRateLimitHeaders() throws Exception {
        String c = "limited-" + suffix();
        // the limiter fails open while Redis is slow (its breaker may be open after a heavy test):
        // wait until it answers again, then check that it enforces
        String probe = TestKeys.create(keys, "read:" + c);
        await("the rate limiter answers")
                .atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> as(probe).get("/v1/{c}/docs/{id}", c, "x").header("RateLimit-Limit") != null);
        String limited = keys.create("limited", List.of("read:" + c), 3)
                .await()
                .atMost(Duration.ofSeconds(10))
                .secret();
        List<Integer> statuses = new ArrayList<>();
        Response refused = null;
        for (int i = 0; i < 12; i++) {
            Response response = as(limited).get("/v1/{c}/docs/{id}", c, "x");
            statuses.add(response.statusCode());
            if (response.statusCode() == 404) {
                assertEquals("3", response.header("RateLimit-Limit"));
                assertTrue(Integer.parseInt(response.header("RateLimit-Remaining")) < 3);
            } else if (refused == null) {
                refused = response;
            }
        }
        assertTrue(
                statuses.stream().filter(s -> s == 429).count() >= 12 - 6,
                "at most 3 per second in each of two windows: " + statuses);
        refused.then()
                .statusCode(429)
                .contentType(PROBLEM)
                .header("Retry-After", notNullValue())
                .header("RateLimit-Limit", "3")
                .header("RateLimit-Remaining", "0");
    }

    @Test
    void anInstanceTakesItsQuotaInSharesNotARedisCallPerRequest() throws Exception {
        String c = "shared-" + suffix();
        String key = keys.create("shares", List.of("read:" + c), 200)
                .await()
                .atMost(Duration.ofSeconds(10))
                .secret();
        // wait for a fresh window, so that the 100 requests below fall in one or two windows
        Thread.sleep(1000 - System.currentTimeMillis() % 1000);
        double before = rateLimitCalls();
        int admitted = 0;
        for (int i = 0; i < 100; i++) {
            if (as(key).get("/v1/{c}/docs/{id}", c, "x").statusCode() == 404) {
                admitted++;
            }
        }
        double calls = rateLimitCalls() - before;
        assertEquals(100, admitted, "well under the limit of 200 per second, every request is admitted");
        // shares of a twentieth of the limit (10 requests): about ten Redis calls, not a hundred
        assertTrue(calls >= 10 && calls <= 25, "Redis calls for 100 requests: " + calls);
    }

    @Test
    void scopesThatWouldNotMeanWhatTheyLookLikeAreRefused() {
        String admin = TestKeys.create(keys, "admin");
        for (String scope : List.of("read:tenant-a*", "write:t*", "read:tenant-a-**")) {
            as(admin)
                    .contentType("application/json")
                    .body("{\"name\":\"x\",\"scopes\":[\"" + scope + "\"]}")
                    .post("/admin/keys")
                    .then()
                    .statusCode(400)
                    .contentType(PROBLEM);
        }
    }

    @Test
    void everyAdminActionAndWriteIsAuditedWithTheKeyIdNeverTheSecret() {
        java.util.List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                events.add(record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        java.util.logging.Logger audit = java.util.logging.Logger.getLogger("strata.audit");
        audit.addHandler(capture);
        try {
            String c = "audited-" + suffix();
            var writer = keys.create("writer", List.of("write:" + c), 0).await().atMost(Duration.ofSeconds(10));
            as(writer.secret())
                    .contentType("application/json")
                    .body("{}")
                    .put("/v1/{c}/docs/{id}", c, "d1")
                    .then()
                    .statusCode(201);
            as(writer.secret()).get("/v1/{c}/docs/{id}", c, "d1").then().statusCode(200);
            as(writer.secret()).delete("/v1/{c}/docs/{id}", c, "d1").then().statusCode(204);
            as(writer.secret()).get("/admin/keys").then().statusCode(403);
            String joined = String.join("\n", events);
            assertTrue(
                    joined.contains(
                            "\"event\":\"write\",\"method\":\"PUT\",\"route\":\"/v1/{collection}/docs/{id}\",\"collection\":\""
                                    + c + "\",\"id\":\"d1\",\"keyId\":\""
                                    + writer.key().id() + "\",\"status\":201"),
                    joined);
            assertTrue(joined.contains("\"method\":\"DELETE\""), joined);
            assertTrue(
                    joined.contains("\"event\":\"admin\",\"method\":\"GET\",\"route\":\"/admin/keys\""),
                    "refused admin action: " + joined);
            assertTrue(joined.contains("\"status\":403"), joined);
            assertTrue(joined.contains("\"traceId\":\""), "events carry the trace id: " + joined);
            assertFalse(joined.contains("\"method\":\"GET\",\"route\":\"/v1/"), "reads are not audited");
            assertFalse(joined.contains(writer.secret()), "never the secret");
        } finally {
            audit.removeHandler(capture);
        }
    }

    @Test
    void refusalsAreCountedByReason() {
        double missing = refusals("missing_key");
        double invalid = refusals("invalid_key");
        double forbidden = refusals("forbidden");
        double path = refusals("non_canonical_path");
        given().get("/v1/c/docs/x").then().statusCode(401);
        given().header("Authorization", "Bearer sk_" + "y".repeat(40))
                .get("/v1/c/docs/x")
                .then()
                .statusCode(401);
        as(TestKeys.create(keys, "read:other")).get("/v1/c/docs/x").then().statusCode(403);
        given().urlEncodingEnabled(false)
                .get("/v1/c/docs/%2E%2E")
                .then()
                .statusCode(400)
                .contentType(PROBLEM);
        assertEquals(1, refusals("missing_key") - missing);
        assertEquals(1, refusals("invalid_key") - invalid);
        assertEquals(1, refusals("forbidden") - forbidden);
        assertEquals(1, refusals("non_canonical_path") - path);
    }

    @Test
    void anEscapedColonInARouteNameMatchesNoRoute() {
        String c = "colon-" + suffix();
        // the router matches route names as written: "docs%3AbatchGet" is not the batchGet route, for any caller
        for (String key : List.of(TestKeys.create(keys, "read:" + c), TestKeys.create(keys, "admin"))) {
            as(key).urlEncodingEnabled(false)
                    .contentType("application/json")
                    .body("{\"ids\":[\"a\"]}")
                    .post("/v1/" + c + "/docs%3AbatchGet")
                    .then()
                    .statusCode(404)
                    .contentType(PROBLEM);
        }
        given().urlEncodingEnabled(false)
                .contentType("application/json")
                .body("{\"ids\":[\"a\"]}")
                .post("/v1/" + c + "/docs%3AbatchGet")
                .then()
                .statusCode(404)
                .contentType(PROBLEM);
    }

    private static double refusals(String reason) {
        return io.micrometer.core.instrument.Metrics.globalRegistry
                .find("strata.auth.refusals")
                .tag("reason", reason)
                .counters()
                .stream()
                .mapToDouble(io.micrometer.core.instrument.Counter::count)
                .sum();
    }

    private double rateLimitCalls() {
        return io.micrometer.core.instrument.Metrics.globalRegistry
                .find("strata.redis.commands")
                .tag("operation", "rate_limit")
                .timers()
                .stream()
                .mapToDouble(t -> t.count())
                .sum();
    }
}
