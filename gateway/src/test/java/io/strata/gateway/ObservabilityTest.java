package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.redis.ClusterTopology;
import io.strata.cache.redis.RedisNodes;

/** Metrics at /q/metrics move exactly with known traffic; traces have the expected span trees. */
@QuarkusTest
class ObservabilityTest extends AuthenticatedTest {

    private static final String DOC = "/v1/{collection}/docs/{id}";

    @Inject
    InMemorySpanExporter spans;

    @Inject
    RedisProbe redis;

    @Inject
    RedisNodes redisNodes;

    private static String newCollection() {
        return "obs-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Every sample of /q/metrics, by its full series name ({@code name{labels}}; label values may hold braces). */
    private static Map<String, Double> scrape() {
        Map<String, Double> samples = new HashMap<>();
        Matcher m = Pattern.compile(
                        "(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{(?:[^\"}]|\"(?:[^\"\\\\]|\\\\.)*\")*\\})?) ([0-9.eE+-]+|NaN)")
                .matcher(Management.given().get("/q/metrics").asString());
        while (m.find()) {
            samples.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        return samples;
    }

    private static double delta(Map<String, Double> before, Map<String, Double> after, String series) {
        return after.getOrDefault(series, 0.0) - before.getOrDefault(series, 0.0);
    }

    /**
     * The first Redis calls of a fresh application may time out (connections, slot map, JIT): get past
     * them, and until the near cache holds its lease (it answers strict reads only then).
     */
    private static void warmUp() {
        String c = newCollection();
        for (int i = 0; i < 20; i++) {
            given().contentType("application/json")
                    .body("{}")
                    .put("/v1/{c}/docs/{id}", c, "w" + i)
                    .then()
                    .statusCode(201);
            given().get("/v1/{c}/docs/{id}", c, "w" + i).then().statusCode(200);
        }
        org.awaitility.Awaitility.await("the near cache answers strict reads")
                .atMost(java.time.Duration.ofSeconds(10))
                .until(() -> "strata-near; hit"
                        .equals(given().get("/v1/{c}/docs/{id}", c, "w0").header("Cache-Status")));
    }

    @Test
    void countersMoveExactlyWithKnownTraffic() {
        warmUp();
        String c = newCollection();
        Map<String, Double> before = scrape();
        given().contentType("application/json")
                .body("{\"m\":1}")
                .put("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(201);
        given().get("/v1/{c}/docs/{id}", c, "doc").then().statusCode(200); // near miss, Redis miss, fill stored
        given().get("/v1/{c}/docs/{id}", c, "doc").then().statusCode(200); // near hit
        given().contentType("application/json")
                .body("{\"m\":2}")
                .put("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(200);
        given().get("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(200); // near miss (the write dropped it), Redis hit
        given().get("/v1/{c}/docs/{id}", c, "absent")
                .then()
                .statusCode(404); // near miss, Redis miss, negative fill stored
        given().get("/v1/{c}/docs/{id}", c, "absent").then().statusCode(404); // near hit
        given().delete("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(204); // tombstone written through (the entry was cached)
        Map<String, Double> after = scrape();

        assertEquals(1, delta(before, after, "strata_cache_reads_total{result=\"hit\"}"));
        assertEquals(2, delta(before, after, "strata_cache_reads_total{result=\"miss\"}"));
        assertEquals(0, delta(before, after, "strata_cache_reads_total{result=\"negative_hit\"}"));
        assertEquals(2, delta(before, after, "strata_cache_near_reads_total{result=\"hit\"}"));
        assertEquals(3, delta(before, after, "strata_cache_near_reads_total{result=\"miss\"}"));
        assertEquals(0, delta(before, after, "strata_cache_reads_total{result=\"bypass\"}"));
        assertEquals(2, delta(before, after, "strata_cache_fills_total{result=\"stored\"}"));
        assertEquals(3, delta(before, after, "strata_cache_write_throughs_total{result=\"ok\"}"));
        assertEquals(1, delta(before, after, "strata_cache_tombstones_total"));
        assertEquals(
                2, delta(before, after, "strata_storage_queries_seconds_count{operation=\"read\",outcome=\"ok\"}"));
        assertEquals(
                3, delta(before, after, "strata_storage_queries_seconds_count{operation=\"write\",outcome=\"ok\"}"));
        String getOk = "http_server_requests_seconds_count{method=\"GET\",outcome=\"SUCCESS\",status=\"200\",uri=\""
                + DOC + "\"}";
        assertEquals(
                3,
                delta(before, after, getOk),
                () -> after.keySet().stream()
                        .filter(k -> k.startsWith("http_server_requests_seconds_count"))
                        .toList()
                        .toString());
        assertEquals(
                2,
                delta(
                        before,
                        after,
                        "http_server_requests_seconds_count{method=\"GET\",outcome=\"CLIENT_ERROR\",status=\"404\",uri=\""
                                + DOC + "\"}"));
        // SLO buckets, by route template
        assertTrue(
                after.containsKey(
                        "http_server_requests_seconds_bucket{method=\"GET\",outcome=\"SUCCESS\",status=\"200\",uri=\""
                                + DOC + "\",le=\"0.25\"}"),
                "latency buckets exist");
        // bounded cardinality: no series names a collection or id
        assertFalse(after.keySet().stream().anyMatch(series -> series.contains(c)), "no raw path in any label");
        // breakers, fault-tolerance and pool metrics are exported
        assertEquals(0, after.get("strata_circuit_breaker_state{breaker=\"postgresql\"}"));
        assertEquals(1, after.get("ft_circuitbreaker_state_current{method=\"strata-postgresql\",state=\"closed\"}"));
        assertTrue(after.keySet().stream().anyMatch(series -> series.startsWith("postgresql_current")), "pool in use");
        assertTrue(
                after.keySet().stream().anyMatch(series -> series.startsWith("postgresql_queue_size")), "pool waiting");
        assertTrue(
                after.keySet().stream()
                        .anyMatch(series ->
                                series.startsWith("strata_redis_commands_seconds_bucket{operation=\"lookup\"")),
                "Redis command latency");
        assertTrue(after.containsKey("strata_cache_pending_invalidations"));
    }

    private List<SpanData> traceOf(String method, String collection) throws InterruptedException {
        SpanData server = await("a server span for " + method + " " + collection)
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20))
                .until(
                        () -> spans.getFinishedSpanItems().stream()
                                .filter(span -> span.getKind() == SpanKind.SERVER
                                        && span.getName().equals(method + " " + DOC)
                                        && span.getAttributes()
                                                .asMap()
                                                .toString()
                                                .contains(collection))
                                .findFirst(),
                        Optional::isPresent)
                .orElseThrow();
        Thread.sleep(100); // the children end before the server span; let the last batch arrive
        return spans.getFinishedSpanItems().stream()
                .filter(s -> s.getTraceId().equals(server.getTraceId()))
                .toList();
    }

    private static SpanData named(List<SpanData> trace, String name) {
        return trace.stream()
                .filter(s -> s.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no span " + name + " in "
                        + trace.stream().map(SpanData::getName).toList()));
    }

    private static List<String> childrenOf(List<SpanData> trace, SpanData parent) {
        return trace.stream()
                .filter(s -> s.getParentSpanId().equals(parent.getSpanId()))
                .map(SpanData::getName)
                .toList();
    }

    @Test
    void missTraceHasCacheLookupRedisCommandsAndAStorageQuery() throws Exception {
        String c = newCollection();
        given().contentType("application/json")
                .body("{}")
                .put("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(201);
        redis.evict(c, "doc");
        spans.reset();
        given().get("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(200)
                .header("Cache-Status", "strata; fwd=miss; stored, strata-near; fwd=miss; stored");
        List<SpanData> trace = traceOf("GET", c);
        SpanData server = named(trace, "GET " + DOC);
        SpanData cache = named(trace, "strata.cache.read");
        assertEquals(server.getSpanId(), cache.getParentSpanId(), "the cache lookup is a child of the request");
        List<String> children = childrenOf(trace, cache);
        assertTrue(children.contains("hmget"), "the entry lookup: " + children);
        assertTrue(children.contains("SELECT documents"), "the storage read: " + children);
        assertTrue(
                children.stream().filter(name -> name.startsWith("eval")).count() >= 2,
                "lease and fill scripts: " + children);
    }

    @Test
    void redisHitTraceHasOneRedisCommandAndNoStorageQuery() throws Exception {
        redisHitTrace(false);
    }

    /**
     * A request that finds the slot map due reloads it in the background: the reload's commands are
     * nobody's request and stay out of its trace.
     */
    @Test
    void aSlotMapReloadStaysOutOfTheTraceOfTheRequestThatStartedIt() throws Exception {
        redisHitTrace(true);
    }

    private void redisHitTrace(boolean slotMapDue) throws Exception {
        warmUp();
        String c = newCollection();
        given().contentType("application/json")
                .body("{}")
                .put("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(201);
        given().get("/v1/{c}/docs/{id}", c, "doc").then().statusCode(200);
        // a write through this instance drops its near copy and updates Redis: the next read is a Redis hit
        given().contentType("application/json")
                .body("[]")
                .put("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(200);
        traceOf("PUT", c);
        long loadedAt = slotMapLoadedAt();
        if (slotMapDue) {
            setSlotMapLoadedAt(loadedAt - Duration.ofDays(1).toNanos());
        }
        spans.reset();
        given().get("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(200)
                .header("Cache-Status", "strata; hit, strata-near; fwd=miss; stored");
        if (slotMapDue) {
            await("the slot map reloaded")
                    .atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> slotMapLoadedAt() > loadedAt);
        }
        List<SpanData> trace = traceOf("GET", c);
        SpanData cache = named(trace, "strata.cache.read");
        assertEquals(List.of("hmget"), childrenOf(trace, cache));
        assertTrue(
                trace.stream()
                        .noneMatch(s -> "postgresql"
                                .equals(s.getAttributes().asMap().entrySet().stream()
                                        .filter(e -> e.getKey().getKey().equals("db.system"))
                                        .map(e -> String.valueOf(e.getValue()))
                                        .findFirst()
                                        .orElse(""))),
                "no PostgreSQL span on a hit");
        if (slotMapDue) {
            assertTrue(
                    spans.getFinishedSpanItems().stream()
                            .anyMatch(span -> span.getName().equals("cluster")),
                    "the reload's command was traced, in a trace of its own");
        }
    }

    private long slotMapLoadedAt() throws ReflectiveOperationException {
        return (long) slotMapLoadedAtField().get(redisNodes.topology());
    }

    /** The slot map's age is private to the cache tier: the test sets it so that the next request finds it due. */
    private void setSlotMapLoadedAt(long nanos) throws ReflectiveOperationException {
        slotMapLoadedAtField().set(redisNodes.topology(), nanos);
    }

    private static java.lang.reflect.Field slotMapLoadedAtField() throws NoSuchFieldException {
        java.lang.reflect.Field field = ClusterTopology.class.getDeclaredField("loadedAt");
        field.setAccessible(true);
        return field;
    }

    @Test
    void nearHitMakesNoCacheSpanAtAll() throws Exception {
        warmUp();
        String c = newCollection();
        given().contentType("application/json")
                .body("{}")
                .put("/v1/{c}/docs/{id}", c, "doc")
                .then()
                .statusCode(201);
        given().get("/v1/{c}/docs/{id}", c, "doc").then().statusCode(200);
        traceOf("GET", c); // the filling read's spans are exported before the slate is cleaned
        spans.reset();
        given().get("/v1/{c}/docs/{id}", c, "doc").then().statusCode(200).header("Cache-Status", "strata-near; hit");
        List<SpanData> trace = traceOf("GET", c);
        named(trace, "GET " + DOC);
        assertTrue(
                trace.stream()
                        .noneMatch(s -> s.getName().startsWith("strata.cache")
                                || s.getName().equals("hmget")),
                "answered from memory: " + trace.stream().map(SpanData::getName).toList());
    }

    @Test
    void incomingTraceparentIsHonoured() throws Exception {
        String c = newCollection();
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        String parentId = "00f067aa0ba902b7";
        spans.reset();
        given().header("traceparent", "00-" + traceId + "-" + parentId + "-01")
                .get("/v1/{c}/docs/{id}", c, "x")
                .then()
                .statusCode(404);
        List<SpanData> trace = traceOf("GET", c);
        SpanData server = named(trace, "GET " + DOC);
        assertEquals(traceId, server.getTraceId());
        assertEquals(parentId, server.getParentSpanId());
    }
}
