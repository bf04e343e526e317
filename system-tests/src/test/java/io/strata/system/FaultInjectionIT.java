package io.strata.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import io.strata.embedded.deployment.EmbeddedPostgres;
import io.strata.embedded.deployment.EmbeddedRedisCluster;
import io.strata.testing.History;

/**
 * Faults injected into real processes: two packaged gateways, a Redis Cluster of 3 masters with a
 * replica each (every client connection goes through a {@link TcpProxy}), and PostgreSQL. During
 * each fault, concurrent readers and writers record a history; the scenario fails on any read older
 * than a write acknowledged before it began, on any acknowledged write missing from PostgreSQL, and
 * on any error a client should never see. The table of results is printed and written to
 * {@code target/fault-injection.md}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultInjectionIT {

    private static final Duration RUN = Duration.ofSeconds(8);
    private static final Duration FAULT_AT = Duration.ofMillis(1500);
    private static final Duration FAULT_FOR = Duration.ofSeconds(5);
    /**
     * Latency bound of every scenario: a fault may cost a request a Redis timeout or a fast 503, never
     * a connect timeout or a hang. Generous for this shared 2-core machine (observed p99: 55–560 ms).
     */
    private static final long P99_BOUND_MILLIS = 3000;

    private final Map<Integer, TcpProxy> proxies = new HashMap<>();
    private final List<GatewayProcess> gateways = new ArrayList<>();
    private final List<String> table = new ArrayList<>();
    private final Map<String, String> gatewayEnv = new HashMap<>();
    private final List<String> notes = new ArrayList<>();
    private EmbeddedPostgres postgres;
    private EmbeddedRedisCluster redis;
    private Path reportDir;

    @BeforeAll
    void start() throws Exception {
        reportDir = Path.of(System.getProperty("strata.report.dir", "target"));
        Files.createDirectories(reportDir);
        postgres = new EmbeddedPostgres(Duration.ofSeconds(60));
        postgres.start();
        redis = new EmbeddedRedisCluster(3, 1, 2000).announcing(port -> {
            try {
                TcpProxy proxy = new TcpProxy(port);
                proxies.put(port, proxy);
                return proxy.port();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        redis.start();
        String hosts = proxies.values().stream()
                .map(p -> "redis://127.0.0.1:" + p.port())
                .collect(Collectors.joining(","));
        Map<String, String> env = gatewayEnv;
        env.put("QUARKUS_REDIS_HOSTS", hosts);
        env.put("QUARKUS_DATASOURCE_REACTIVE_URL", postgres.reactiveUrl());
        env.put("QUARKUS_DATASOURCE_JDBC_URL", postgres.jdbcUrl());
        env.put("QUARKUS_DATASOURCE_USERNAME", EmbeddedPostgres.USER);
        env.put("QUARKUS_DATASOURCE_PASSWORD", postgres.password());
        // short freshness, so that copies served during a PostgreSQL outage are past it (stale-if-error)
        env.put("STRATA_CACHE_TTL", "2s");
        env.put("STRATA_CACHE_STALE_WHILE_REVALIDATE", "0s");
        env.put("STRATA_CACHE_TOPOLOGY_REFRESH_INTERVAL", "1s");
        env.put("STRATA_STORAGE_BREAKER_DELAY", "2s");
        ApiKey.configure(env);
        for (int i = 0; i < 2; i++) {
            int port = 18080 + i + (int) (ProcessHandle.current().pid() % 500) * 2;
            gateways.add(new GatewayProcess(
                    "gateway-" + i,
                    port,
                    Path.of(System.getProperty("strata.gateway.jar")),
                    env,
                    reportDir.resolve("gateway-" + i + ".log")));
        }
        for (GatewayProcess gateway : gateways) {
            gateway.awaitReady(Duration.ofSeconds(90));
        }
        table.add(
                "| scenario | requests | errors | 503 unavailable | 503 committed, not visible | stale-if-error serves | stale reads | p99 ms |");
        table.add("|---|---|---|---|---|---|---|---|");
    }

    @AfterAll
    void stop() throws Exception {
        for (GatewayProcess gateway : gateways) {
            gateway.close();
        }
        proxies.values().forEach(TcpProxy::close);
        if (redis != null) {
            redis.close();
        }
        if (postgres != null) {
            postgres.close();
        }
        String report = String.join("\n", table) + "\n\n" + String.join("\n", notes) + "\n";
        System.out.println("\nFault injection (two gateways, 3 Redis masters + 3 replicas, PostgreSQL):\n" + report);
        Files.writeString(reportDir.resolve("fault-injection.md"), report);
    }

    /** A fault: injected at {@link #FAULT_AT} into the run, healed {@link #FAULT_FOR} later. */
    private interface Fault {
        void inject() throws Exception;

        void heal() throws Exception;
    }

    /**
     * Waits until both gateways have closed every breaker and applied every invalidation after the
     * previous scenario, sending a little traffic over every Redis master meanwhile (a breaker only
     * closes after successful calls).
     */
    private void awaitSettled() throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            boolean settled = true;
            for (GatewayProcess gateway : gateways) {
                for (int i = 0; i < 12; i++) {
                    client.send(
                            ApiKey.request(gateway.uri("/v1/settle/docs/s" + i))
                                    .header("Content-Type", "application/json")
                                    .PUT(HttpRequest.BodyPublishers.ofString("{}"))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding());
                    HttpResponse<Void> read = client.send(
                            ApiKey.request(gateway.uri("/v1/settle/docs/s" + i))
                                    .header("Cache-Control", "no-cache")
                                    .build(),
                            HttpResponse.BodyHandlers.discarding());
                    // the write was acknowledged, and a read that refreshes the cache reached Redis and stored its
                    // answer
                    settled &= read.headers()
                            .firstValue("Cache-Status")
                            .orElse("")
                            .startsWith("strata; fwd=request; stored");
                }
                settled &= gateway.pendingInvalidations() == 0;
            }
            if (settled) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "gateways settle after the previous fault");
            Thread.sleep(300);
        }
    }

    private Workload scenario(String name, Fault fault) throws Exception {
        awaitSettled();
        String collection = "fault-" + name.toLowerCase().replaceAll("[^a-z0-9]+", "-");
        List<String> keys = IntStream.range(0, 12).mapToObj(i -> "k" + i).toList();
        Workload workload = new Workload(gateways, collection, keys);
        for (int i = 0; i < keys.size() * 2; i++) {
            workload.write();
            workload.read();
        }
        CompletableFuture<Void> faults = CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(FAULT_AT.toMillis());
                fault.inject();
                Thread.sleep(FAULT_FOR.toMillis());
                fault.heal();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        workload.run(RUN, 4, 8);
        faults.join();
        awaitInvalidationsApplied();
        for (int i = 0; i < keys.size() * 4; i++) {
            workload.read(); // reads after recovery are checked too
        }
        List<String> violations = workload.history.violations();
        table.add("| " + name + " | " + workload.requests.get() + " | " + workload.errors.get() + " | "
                + workload.unavailable.get() + " | " + workload.notVisible.get() + " | " + workload.staleServed.get()
                + " | "
                + violations.size() + " | " + workload.p99Millis() + " |");
        assertTrue(
                violations.isEmpty(),
                name + ": stale reads " + violations.stream().limit(3).toList());
        assertTrue(workload.p99Millis() < P99_BOUND_MILLIS, name + ": p99 " + workload.p99Millis() + " ms");
        assertNoAcknowledgedWriteLost(collection, workload.history);
        return workload;
    }

    private void awaitInvalidationsApplied() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (GatewayProcess gateway : gateways) {
            while (gateway.pendingInvalidations() != 0) {
                assertTrue(System.nanoTime() < deadline, "pending invalidations applied within 30 s");
                Thread.sleep(200);
            }
        }
    }

    /** Every acknowledged write is in PostgreSQL: no document's version is below one acknowledged for it. */
    private void assertNoAcknowledgedWriteLost(String collection, History history) throws SQLException {
        Map<String, Long> stored = new HashMap<>();
        try (Connection connection =
                        DriverManager.getConnection(postgres.jdbcUrl(), EmbeddedPostgres.USER, postgres.password());
                var statement = connection.prepareStatement("SELECT id, version FROM documents WHERE collection = ?")) {
            statement.setString(1, collection);
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    stored.put(rows.getString(1), rows.getLong(2));
                }
            }
        }
        for (History.Op op : history.ops()) {
            if (op.kind() == History.Kind.PUT) {
                long version = stored.getOrDefault(op.key(), -1L);
                assertTrue(
                        version >= op.version(),
                        "acknowledged write " + op + " is in PostgreSQL (found " + version + ")");
            }
            if (op.kind() == History.Kind.UNACKNOWLEDGED_PUT && op.version() != History.UNKNOWN) {
                // a 503 "committed, not visible" names a version that storage must hold
                long version = stored.getOrDefault(op.key(), -1L);
                assertTrue(
                        version >= op.version(), "committed write " + op + " is in PostgreSQL (found " + version + ")");
            }
        }
    }

    @Test
    @Order(1)
    void noFault() throws Exception {
        Workload workload = scenario("no fault (baseline)", new Fault() {
            public void inject() {}

            public void heal() {}
        });
        assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
        assertEquals(0, workload.unavailable.get());
        assertEquals(0, workload.notVisible.get(), "a healthy cache acknowledges every write");
    }

    @Test
    @Order(2)
    void redisLatency() throws Exception {
        Workload workload = scenario("Redis +400 ms latency on every node (timeout 250 ms)", new Fault() {
            public void inject() {
                proxies.values().forEach(p -> p.latency(Duration.ofMillis(400)));
            }

            public void heal() {
                proxies.values().forEach(p -> p.latency(Duration.ZERO));
            }
        });
        assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
        assertEquals(0, workload.unavailable.get());
    }

    @Test
    @Order(3)
    void redisConnectionsCut() throws Exception {
        Workload workload = scenario("Redis connections cut every 250 ms", new Fault() {
            private volatile boolean cutting;

            public void inject() {
                cutting = true;
                Thread.ofVirtual().start(() -> {
                    while (cutting) {
                        proxies.values().forEach(TcpProxy::cutAll);
                        try {
                            Thread.sleep(250);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
            }

            public void heal() {
                cutting = false;
            }
        });
        assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
        assertEquals(0, workload.unavailable.get());
    }

    @Test
    @Order(4)
    void redisMasterKilled() throws Exception {
        EmbeddedRedisCluster.Node[] victim = new EmbeddedRedisCluster.Node[1];
        Workload workload = scenario("kill -9 a Redis master (replica promoted)", new Fault() {
            public void inject() {
                victim[0] = redis.currentMasters().get(0);
                redis.kill(victim[0]);
            }

            public void heal() {
                redis.awaitHealthy(Duration.ofSeconds(30));
            }
        });
        redis.restart(victim[0]);
        redis.awaitHealthy(Duration.ofSeconds(30));
        assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
        assertEquals(0, workload.unavailable.get());
    }

    @Test
    @Order(5)
    void allRedisDown() throws Exception {
        Workload workload = scenario("all Redis nodes down, back empty", new Fault() {
            public void inject() {
                redis.killAll();
            }

            public void heal() {
                redis.restartEmpty();
            }
        });
        assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
        assertEquals(0, workload.unavailable.get());
    }

    private static String statusOf(HttpClient client, URI uri, String cacheControl) throws Exception {
        HttpRequest.Builder request = ApiKey.request(uri);
        if (cacheControl != null) {
            request.header("Cache-Control", cacheControl);
        }
        HttpResponse<Void> response = client.send(request.build(), HttpResponse.BodyHandlers.discarding());
        return response.statusCode() + " "
                + response.headers().firstValue("Cache-Status").orElse("");
    }

    @Test
    @Order(6)
    void postgresDown() throws Exception {
        long[] coldReadMillis = new long[1];
        Map<String, String> clientChoices = new java.util.concurrent.ConcurrentHashMap<>();
        Workload workload = scenario("PostgreSQL stopped, then restarted", new Fault() {
            public void inject() throws Exception {
                HttpClient client = HttpClient.newHttpClient();
                URI doc = gateways.get(0).uri("/v1/fault-sie/docs/cached");
                assertEquals(
                        201,
                        client.send(
                                        ApiKey.request(doc)
                                                .header("Content-Type", "application/json")
                                                .PUT(HttpRequest.BodyPublishers.ofString("{}"))
                                                .build(),
                                        HttpResponse.BodyHandlers.discarding())
                                .statusCode());
                // the scenario is about a cached copy: a write-through that timed out under the workload
                // leaves the document uncached until a read fills it, so read until it is a hit
                awaitCacheHit(client, doc);
                postgres.stopServer();
                Thread.sleep(2500); // past the copy's 2 s freshness
                // the client sets its own tolerance for stale copies, or refuses them
                clientChoices.put("default", statusOf(client, doc, null));
                clientChoices.put("stale-if-error=0", statusOf(client, doc, "stale-if-error=0"));
                clientChoices.put("stale-if-error=60", statusOf(client, doc, "stale-if-error=60"));
                clientChoices.put("no-cache", statusOf(client, doc, "no-cache"));
                // an uncached read gets a fast 503 while the storage breaker is open
                long start = System.nanoTime();
                HttpResponse<String> cold = HttpClient.newHttpClient()
                        .send(
                                ApiKey.request(gateways.get(0).uri("/v1/fault-cold/docs/never-cached"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                coldReadMillis[0] = (System.nanoTime() - start) / 1_000_000;
                assertEquals(503, cold.statusCode());
                assertTrue(cold.headers().firstValue("Retry-After").isPresent());
            }

            public void heal() {
                postgres.startServer();
            }
        });
        assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
        assertTrue(
                clientChoices
                        .get("default")
                        .matches("200 strata; hit; ttl=-[0-9]+; detail=stale-if-error(, strata-near; fwd=miss)?"),
                clientChoices.toString());
        assertTrue(clientChoices.get("stale-if-error=60").startsWith("200 "), clientChoices.toString());
        assertTrue(clientChoices.get("stale-if-error=0").startsWith("503"), clientChoices.toString());
        assertTrue(clientChoices.get("no-cache").startsWith("503"), clientChoices.toString());
        assertTrue(workload.unavailable.get() > 0, "writes answered 503 while PostgreSQL was down");
        assertTrue(workload.staleServed.get() > 0, "cached documents were served past freshness");
        assertTrue(coldReadMillis[0] < 1000, "a 503 comes fast: " + coldReadMillis[0] + " ms");
        assertTrue(workload.p99Millis() < 2500, "no request waited for a connect timeout: p99 " + workload.p99Millis());
        // recovery is automatic
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        int status = 0;
        while (status != 201 && System.nanoTime() < deadline) {
            status = HttpClient.newHttpClient()
                    .send(
                            ApiKey.request(gateways.get(1).uri("/v1/fault-after/docs/" + System.nanoTime()))
                                    .header("Content-Type", "application/json")
                                    .PUT(HttpRequest.BodyPublishers.ofString("{}"))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
            Thread.sleep(200);
        }
        assertEquals(201, status, "writes succeed again after PostgreSQL returns");
        // every instance recovers by itself: its breaker half-opens and closes on the first reads
        for (GatewayProcess gateway : gateways) {
            awaitStatus(gateway.uri("/v1/fault-after/docs/never-written"), 404, Duration.ofSeconds(20));
        }
    }

    private static void awaitCacheHit(HttpClient client, URI doc) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String status = statusOf(client, doc, null);
        // a hit in Redis (the near cache holds it too, for as long as it is fresh)
        while (!status.startsWith("200 strata; hit")
                && !status.startsWith("200 strata-near; hit")
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
            status = statusOf(client, doc, null);
        }
        assertTrue(
                status.startsWith("200 strata; hit") || status.startsWith("200 strata-near; hit"),
                "the document is cached before the outage: " + status);
    }

    private static void awaitStatus(URI uri, int expected, Duration within) throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + within.toNanos();
        int status = client.send(ApiKey.request(uri).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
        while (status != expected && System.nanoTime() < deadline) {
            Thread.sleep(200);
            status = client.send(ApiKey.request(uri).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        }
        assertEquals(expected, status, uri + " answers again after PostgreSQL returns");
    }

    @Test
    @Order(7)
    void stampedeOfOneColdKeyReadsStorageOnce() throws Exception {
        try (Connection connection =
                        DriverManager.getConnection(postgres.jdbcUrl(), EmbeddedPostgres.USER, postgres.password());
                var insert = connection.prepareStatement(
                        "INSERT INTO documents (collection, id, version, body) "
                                + "VALUES ('stampede', 'cold', nextval('strata_version_seq'), convert_to('{\"cold\":true}', 'UTF8'))")) {
            insert.executeUpdate();
        }
        HttpClient client =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        // open the 1,000 connections first, so that the burst measures requests rather than TCP handshakes
        List<CompletableFuture<HttpResponse<Void>>> warm = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            warm.add(client.sendAsync(
                    ApiKey.request(gateways.get(i % 2).uri("/v1")).build(), HttpResponse.BodyHandlers.discarding()));
        }
        warm.forEach(CompletableFuture::join);
        double before = storageReads();
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            responses.add(client.sendAsync(
                    ApiKey.request(gateways.get(i % 2).uri("/v1/stampede/docs/cold"))
                            .timeout(Duration.ofSeconds(30))
                            .build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        List<HttpResponse<String>> answers =
                responses.stream().map(CompletableFuture::join).toList();
        Map<Integer, Long> statuses =
                answers.stream().collect(Collectors.groupingBy(HttpResponse::statusCode, Collectors.counting()));
        Map<String, Long> cacheStatuses = answers.stream()
                .collect(Collectors.groupingBy(
                        r -> r.headers().firstValue("Cache-Status").orElse("none"),
                        java.util.TreeMap::new,
                        Collectors.counting()));
        double reads = storageReads() - before;
        System.out.println("stampede: " + statuses + " " + cacheStatuses + ", storage reads " + reads);
        table.add("| 1,000 concurrent GETs of one cold key over two gateways | 1000 | "
                + (1000 - statuses.getOrDefault(200, 0L)) + " | 0 | 0 | 0 | storage reads: " + (long) reads
                + " (goal 1) |");
        assertEquals(Map.of(200, 1000L), statuses);
        // Goal: 1 (one lease holder fills, everyone else reads the cache). When the burst itself pushes
        // Redis calls past their timeout on this shared machine, the bypassed reads are still collapsed
        // per document (one storage read at a time per instance), which bounds them far below 1,000.
        assertTrue(reads >= 1 && reads <= 100, "storage reads for 1,000 concurrent misses: " + reads);
    }

    /**
     * What waiting for a replica's acknowledgment costs a write: two fresh gateways, one with
     * {@code replica-acks=1} and one with 0, warmed up alike, then PUTs alternating between them.
     * Printed, not asserted (timings on a shared machine are not a test).
     */
    @Test
    @Order(8)
    void replicaAcknowledgmentCost() throws Exception {
        Path jar = Path.of(System.getProperty("strata.gateway.jar"));
        Map<String, String> noWaitEnv = new HashMap<>(gatewayEnv);
        noWaitEnv.put("STRATA_CACHE_REPLICA_ACKS", "0");
        try (GatewayProcess wait = new GatewayProcess(
                        "gateway-wait",
                        gateways.get(0).port() + 1000,
                        jar,
                        gatewayEnv,
                        reportDir.resolve("gateway-wait.log"));
                GatewayProcess noWait = new GatewayProcess(
                        "gateway-no-wait",
                        gateways.get(0).port() + 1001,
                        jar,
                        noWaitEnv,
                        reportDir.resolve("gateway-no-wait.log"))) {
            wait.awaitReady(Duration.ofSeconds(90));
            noWait.awaitReady(Duration.ofSeconds(90));
            HttpClient client = HttpClient.newHttpClient();
            putLatencies(client, wait, noWait, "acks-warm", 1500);
            long[][] measured = putLatencies(client, wait, noWait, "acks", 500);
            String line = String.format(
                    "PUT latency, replica-acks=1: p50 %.2f ms, p99 %.2f ms; replica-acks=0: "
                            + "p50 %.2f ms, p99 %.2f ms; p50 ratio %.2f",
                    measured[0][0] / 1e6,
                    measured[0][1] / 1e6,
                    measured[1][0] / 1e6,
                    measured[1][1] / 1e6,
                    (double) measured[0][0] / measured[1][0]);
            System.out.println(line);
            notes.add(
                    line + " (two fresh gateways warmed with 1,500 PUTs each, then 500 PUTs alternating between them)");
        }
    }

    /** p50 and p99 of PUTs alternating between two gateways, so that both see the same machine load. */
    private static long[][] putLatencies(
            HttpClient client, GatewayProcess a, GatewayProcess b, String collection, int count) throws Exception {
        long[][] nanos = new long[2][count];
        GatewayProcess[] pair = {a, b};
        for (int i = 0; i < count; i++) {
            for (int g = 0; g < 2; g++) {
                long start = System.nanoTime();
                int status = client.send(
                                ApiKey.request(pair[g].uri("/v1/" + collection + "-" + g + "/docs/d" + (i % 30)))
                                        .header("Content-Type", "application/json")
                                        .PUT(HttpRequest.BodyPublishers.ofString("{\"i\":" + i + "}"))
                                        .build(),
                                HttpResponse.BodyHandlers.discarding())
                        .statusCode();
                nanos[g][i] = System.nanoTime() - start;
                assertTrue(status == 200 || status == 201);
            }
        }
        long[][] result = new long[2][];
        for (int g = 0; g < 2; g++) {
            java.util.Arrays.sort(nanos[g]);
            result[g] = new long[] {nanos[g][count / 2], nanos[g][(int) (count * 0.99) - 1]};
        }
        return result;
    }

    /**
     * The gateways' own log lines (prod profile: JSON) carry every field the Fluent Bit configuration
     * in observability/logging parses or filters on, trace and span ids on lines written while
     * serving a request, and never a document body, a credential or an API key.
     */
    @Test
    @Order(9)
    void logsCarryTheFieldsFluentBitUsesAndNoSecrets() throws Exception {
        String marker = "marker-" + java.util.UUID.randomUUID();
        HttpClient client = HttpClient.newHttpClient();
        for (GatewayProcess gateway : gateways) {
            client.send(
                    ApiKey.request(gateway.uri("/v1/logs/docs/secret"))
                            .header("Content-Type", "application/json")
                            .setHeader("Authorization", "Bearer key-" + marker)
                            .PUT(HttpRequest.BodyPublishers.ofString("{\"body\":\"body-" + marker + "\"}"))
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
            client.send(
                    ApiKey.request(gateway.uri("/v1/logs/docs/bad"))
                            .header("Content-Type", "application/json")
                            .PUT(HttpRequest.BodyPublishers.ofString("{\"broken-" + marker))
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
        }
        String config = Files.readString(
                Path.of(System.getProperty("strata.repo.dir", ".."), "observability", "logging", "fluent-bit.yaml"));
        for (String field : List.of(
                "Time_Key     timestamp",
                "Rename  level",
                "Rename  loggerName",
                "Nested_under  mdc",
                "Rename  mdc_traceId",
                "Rename  mdc_spanId",
                "Exclude  message")) {
            assertTrue(config.contains(field), "the Fluent Bit configuration uses " + field);
        }
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.util.regex.Pattern time =
                java.util.regex.Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}[+-]\\d{4}");
        int lines = 0;
        int traced = 0;
        for (int i = 0; i < gateways.size(); i++) {
            for (String line : Files.readAllLines(reportDir.resolve("gateway-" + i + ".log"))) {
                if (line.isBlank() || !line.startsWith("{")) {
                    continue; // the JVM's own warnings before logging starts
                }
                lines++;
                var entry = json.readTree(line);
                for (String field : List.of("timestamp", "level", "loggerName", "message")) {
                    assertTrue(entry.hasNonNull(field), "field " + field + " in " + line);
                }
                assertTrue(time.matcher(entry.get("timestamp").asText()).matches(), "timestamp format: " + line);
                if (entry.path("mdc").hasNonNull("traceId")) {
                    assertTrue(entry.path("mdc").hasNonNull("spanId"), line);
                    traced++;
                }
                assertFalse(line.contains(marker), "no body, bad input or API key in a log line: " + line);
                assertFalse(line.contains(postgres.password()), "no database password in a log line");
                assertFalse(line.contains(ApiKey.SECRET), "no valid API key in a log line");
                assertFalse(line.contains("\\\"at\\\":"), "no workload document body in a log line: " + line);
            }
        }
        assertTrue(lines > 50, "the gateways logged JSON lines: " + lines);
        assertTrue(traced > 0, "lines written while serving a request carry trace and span ids");
        notes.add("Logs: " + lines + " JSON lines checked, " + traced
                + " with trace ids; no body, credential or API key.");
    }

    /**
     * Secrets from Vault: a gateway given no database password, pepper or admin key logs in to a
     * (local, Vault-speaking) server with its service account token through the Kubernetes auth
     * method, reads them from KV v2, migrates, serves, and accepts the admin key Vault holds.
     */
    @Test
    @Order(10)
    void secretsComeFromVault() throws Exception {
        Path jwt = Files.createTempFile("strata-sa-token", "");
        String token = "eyJhbGciOiJSUzI1NiJ9." + java.util.UUID.randomUUID() + ".signature";
        Files.writeString(jwt, token);
        String adminKey = "sk_vault_" + java.util.UUID.randomUUID().toString().replace("-", "");
        Map<String, String> secret = Map.of(
                "quarkus.datasource.password",
                postgres.password(),
                "strata.auth.pepper",
                "pepper-from-vault-" + java.util.UUID.randomUUID(),
                "strata.auth.bootstrap-admin-key",
                adminKey);
        try (FakeVault vault = new FakeVault("strata", token, "strata", secret)) {
            Map<String, String> env = new HashMap<>(gatewayEnv);
            env.remove("QUARKUS_DATASOURCE_PASSWORD");
            env.remove("STRATA_AUTH_PEPPER");
            env.remove("STRATA_AUTH_BOOTSTRAP_ADMIN_KEY");
            env.put("QUARKUS_VAULT_URL", vault.url());
            env.put("QUARKUS_VAULT_AUTHENTICATION_KUBERNETES_JWT_TOKEN_PATH", jwt.toString());
            try (GatewayProcess gateway = new GatewayProcess(
                    "gateway-vault",
                    gateways.get(0).port() + 1002,
                    Path.of(System.getProperty("strata.gateway.jar")),
                    env,
                    reportDir.resolve("gateway-vault.log"))) {
                gateway.awaitReady(Duration.ofSeconds(90));
                HttpClient client = HttpClient.newHttpClient();
                URI doc = gateway.uri("/v1/vault/docs/d");
                int put = client.send(
                                HttpRequest.newBuilder(doc)
                                        .header("Authorization", "Bearer " + adminKey)
                                        .header("Content-Type", "application/json")
                                        .PUT(HttpRequest.BodyPublishers.ofString("{\"from\":\"vault\"}"))
                                        .build(),
                                HttpResponse.BodyHandlers.discarding())
                        .statusCode();
                assertEquals(
                        201,
                        put,
                        "the admin key from Vault works (the pepper and database password came from Vault too)");
                int refused = client.send(
                                HttpRequest.newBuilder(doc)
                                        .header("Authorization", "Bearer " + ApiKey.SECRET)
                                        .build(),
                                HttpResponse.BodyHandlers.discarding())
                        .statusCode();
                assertEquals(401, refused, "keys hashed with another pepper are not valid here");
            }
            assertTrue(vault.calls.contains("POST /v1/auth/kubernetes/login"), "Kubernetes auth login: " + vault.calls);
            assertTrue(vault.calls.contains("GET /v1/secret/data/strata"), "KV v2 read: " + vault.calls);
            notes.add("Vault: secrets read through Kubernetes auth and KV v2 from a local Vault-speaking server; calls "
                    + vault.calls + ".");
        } finally {
            Files.deleteIfExists(jwt);
        }
    }

    private double storageReads() throws Exception {
        double sum = 0;
        for (GatewayProcess gateway : gateways) {
            sum += gateway.metric("strata_storage_queries_seconds_count", "operation=\"read\"");
        }
        return sum;
    }
}
