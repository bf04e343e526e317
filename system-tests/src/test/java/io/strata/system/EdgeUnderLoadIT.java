package io.strata.system;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.strata.embedded.deployment.EmbeddedPostgres;
import io.strata.embedded.deployment.EmbeddedRedisCluster;
import io.strata.testing.Latencies;

/**
 * The edge against hostile clients, each test on its own packaged gateway started with a 512 MiB
 * container's memory settings and every Strata setting at its production default, in front of a real
 * PostgreSQL and a 3-master Redis Cluster:
 * <ul>
 * <li>one tenant's key drives the most memory-hungry requests of every kind at once, and the process
 * neither dies nor outgrows its container, while another tenant's reads keep being answered;</li>
 * <li>a flood of made-up keys neither turns into a storage lookup each nor slows document reads.</li>
 * </ul>
 * Figures are printed and written to {@code target/edge-under-load.md}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EdgeUnderLoadIT {

    /** A 512 MiB container: the heap gets 50 % of it, and an OutOfMemoryError ends the process. */
    private static final List<String> CONTAINER_JVM =
            List.of("-XX:MaxRAM=512m", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError");

    private static final long CONTAINER_KIB = 512 * 1024;

    /** Big documents {"n":…,"pad":"…"}: just under the gateway's body limit (strata.api.max-body-bytes, 1 MiB). */
    private static final int PAD = 32 * 32_750;

    private static final int BIG_DOCS = 400;
    /**
     * Documents the near cache holds (it takes none over strata.cache.near.max-body-size, 64 KiB, so
     * the big ones never reach it): 640 of 60 KiB, together more than its 32 MiB.
     */
    private static final int NEAR_PAD = 60 * 1024;

    private static final int NEAR_DOCS = 640;
    private static final int SMALL_DOCS = 200;
    private static final Duration QUIET = Duration.ofSeconds(5);
    private static final Duration LOAD = Duration.ofSeconds(40);
    /**
     * Tenant B's steady stream, 100 reads per second, spread over enough connections that a reader
     * waiting for a slow answer does not hold the others back: the stream keeps its rate under load,
     * and slow answers keep their weight in the p99.
     */
    private static final int B_CONNECTIONS = 8;

    private static final double B_RATE_PER_CONNECTION = 12.5;
    /**
     * Tenant B is never starved: its reads all answer 200 and its p99 under load stays under 2 s, the
     * storage timeout, past which answers would turn into 503s; the 35 s reads this test exists for are
     * far beyond it. How much slower B gets under A's load (its p99 against its quiet p99) is a timing
     * figure on shared cores: it is reported here and judged by the benchmark, never asserted.
     */
    private static final double B_P99_CEILING_MS = 2000;

    /** The flood: made-up keys per second, spread over connections; document reads beside it. */
    private static final int FLOOD_RATE = 10_000;

    private static final int FLOOD_CONNECTIONS = 16;
    /** Requests a flood connection sends back to back before it reads their answers (HTTP/1.1 pipelining). */
    private static final int FLOOD_PIPELINE = 8;

    private static final Duration FLOOD = Duration.ofSeconds(10);
    private static final int DOC_CONNECTIONS = 4;
    private static final int DOC_RATE_PER_CONNECTION = 250;
    private static final int FLOOD_DOCS = 1000;
    /** strata.auth.key-lookups-per-second (production default); its bucket holds one second's worth. */
    private static final int LOOKUP_CAP = 500;

    private static final String[] REFUSAL_REASONS = {
        "missing_key", "invalid_key", "lookup_budget", "forbidden", "rate_limited", "non_canonical_path"
    };

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final char[] KEY_CHARS =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-".toCharArray();

    /** Load threads that died of an exception: the figures would be missing their requests. */
    private static final List<String> CRASHES = Collections.synchronizedList(new ArrayList<>());

    private final List<String> report = new ArrayList<>();
    private EmbeddedPostgres postgres;
    private EmbeddedRedisCluster redis;
    private Path reportDir;

    @BeforeAll
    void start() throws Exception {
        reportDir = Path.of(System.getProperty("strata.report.dir", "target"));
        Files.createDirectories(reportDir);
        postgres = new EmbeddedPostgres(Duration.ofSeconds(60));
        postgres.start();
        redis = new EmbeddedRedisCluster(3, 0, 2000);
        redis.start();
    }

    @AfterAll
    void stop() throws IOException {
        if (redis != null) {
            redis.close();
        }
        if (postgres != null) {
            postgres.close();
        }
        String text = String.join("\n", report) + "\n";
        System.out.println(
                "\nEdge under load (one gateway, JVM of a 512 MiB container, production defaults):\n" + text);
        Files.writeString(reportDir.resolve("edge-under-load.md"), text);
    }

    // ------------------------------------------------------------------ memory

    @Test
    @Order(1)
    void oneClientCannotExhaustMemory() throws Exception {
        try (GatewayProcess gateway = gateway("edge-memory")) {
            // A's key has no practical rate limit: the memory bounds must hold without one
            String a = createKey(gateway, "tenant a", List.of("write:tenant-a", "write:tenant-a-near"), 1_000_000);
            String b = createKey(gateway, "tenant b", List.of("read:tenant-b"), 0);
            long loading = System.nanoTime();
            sql(
                    "INSERT INTO documents (collection, id, version, body) SELECT 'tenant-a', 'big-' || lpad(g::text, 3, '0'), "
                            + "nextval('strata_version_seq'), convert_to('{\"n\":' || g || ',\"pad\":\"' || repeat(md5(g::text), "
                            + PAD / 32 + ") || '\"}', 'UTF8') FROM generate_series(0, " + (BIG_DOCS - 1) + ") g");
            sql("INSERT INTO documents (collection, id, version, body) SELECT 'tenant-a-near', 'near-' || g, "
                    + "nextval('strata_version_seq'), convert_to('{\"n\":' || g || ',\"pad\":\"' || repeat(md5(g::text), "
                    + NEAR_PAD / 32 + ") || '\"}', 'UTF8') FROM generate_series(0, " + (NEAR_DOCS - 1) + ") g");
            sql(
                    "INSERT INTO documents (collection, id, version, body) SELECT 'tenant-b', 's-' || g, nextval('strata_version_seq'), "
                            + "convert_to('{\"n\":' || g || ',\"pad\":\"' || repeat('b', 170) || '\"}', 'UTF8') FROM generate_series(0, "
                            + (SMALL_DOCS - 1) + ") g");
            long loadedMillis = (System.nanoTime() - loading) / 1_000_000;

            String bAuth = "Authorization: Bearer " + b;
            int cachedHits = cacheSmallDocuments(gateway, "tenant-b", "s-", SMALL_DOCS, bAuth);
            assertEquals(SMALL_DOCS, cachedHits, "every one of B's documents is answered from Redis");

            Outcomes outcomes = new Outcomes();
            // warm B's path, then measure it alone
            runB(gateway, bAuth, Duration.ofSeconds(2), new Latencies(), outcomes, "B warm-up");
            Latencies quiet = new Latencies();
            runB(gateway, bAuth, QUIET, quiet, outcomes, "B quiet");

            String aAuth = "Authorization: Bearer " + a;
            Map<String, AtomicLong> received = new java.util.concurrent.ConcurrentHashMap<>();
            LongAccumulator largestPage = new LongAccumulator(Math::max, 0);
            LongAccumulator largestBatch = new LongAccumulator(Math::max, 0);
            double refusedBefore = gateway.metric("strata_response_memory_refused_total", "");
            double gcBefore = gateway.metric("jvm_gc_pause_seconds_sum", "");
            Map<String, Double> readsBefore = cacheReads(gateway);
            double nearHitsBefore = gateway.metric("strata_cache_near_reads_total", "result=\"hit\"");
            double nearMissesBefore = gateway.metric("strata_cache_near_reads_total", "result=\"miss\"");
            long openingsBefore = breakerOpenings(gateway);
            long stopAt = System.nanoTime() + LOAD.toNanos();
            List<Thread> load = new ArrayList<>();
            for (int c = 0; c < 6; c++) {
                load.add(
                        worker("list-" + c, () -> listWalker(gateway, aAuth, stopAt, outcomes, received, largestPage)));
            }
            for (int c = 0; c < 6; c++) {
                load.add(worker(
                        "batch-" + c, () -> batchGetter(gateway, aAuth, stopAt, outcomes, received, largestBatch)));
            }
            for (int c = 0; c < 4; c++) {
                int first = 100 + c * 25;
                load.add(worker("patch-" + c, () -> patcher(gateway, aAuth, first, stopAt, outcomes, received)));
            }
            for (int c = 0; c < 4; c++) {
                int first = 200 + c * 25;
                load.add(worker("put-" + c, () -> putter(gateway, aAuth, first, stopAt, outcomes, received)));
            }
            for (int c = 0; c < 4; c++) {
                load.add(worker("get-" + c, () -> staleReader(gateway, aAuth, stopAt, outcomes, received)));
            }
            Monitor monitor = new Monitor(gateway, stopAt);
            Thread watching = worker("monitor", monitor::run);
            Latencies loaded = new Latencies();
            Outcomes sources = new Outcomes();
            CpuUse cpuBefore = CpuUse.now(gateway);
            runB(gateway, bAuth, LOAD, loaded, outcomes, "B loaded", sources);
            String cpu = CpuUse.now(gateway).since(cpuBefore);
            for (Thread thread : load) {
                thread.join(Duration.ofSeconds(60));
                assertTrue(!thread.isAlive(), thread.getName() + " finished within 60 s of the end of the load");
            }
            watching.join();

            boolean alive = gateway.alive();
            long peakKib = alive ? gateway.peakRssKib() : monitor.peakKib;
            int liveness = alive ? probeOrMinusOne(gateway, "/q/health/live") : -1;
            long openings = breakerOpenings(gateway) - openingsBefore;
            Map<String, Long> reads = new java.util.TreeMap<>();
            double refused = Double.NaN;
            double gcSeconds = Double.NaN;
            String near = "";
            if (alive) {
                near = String.format(
                        Locale.ROOT,
                        "near cache: %.0f hits, %.0f misses, %.0f entries at the end",
                        gateway.metric("strata_cache_near_reads_total", "result=\"hit\"") - nearHitsBefore,
                        gateway.metric("strata_cache_near_reads_total", "result=\"miss\"") - nearMissesBefore,
                        gateway.metric("strata_cache_near_entries", ""));
                refused = gateway.metric("strata_response_memory_refused_total", "") - refusedBefore;
                gcSeconds = gateway.metric("jvm_gc_pause_seconds_sum", "") - gcBefore;
                cacheReads(gateway)
                        .forEach((result, n) ->
                                reads.put(result, Math.round(n - readsBefore.getOrDefault(result, 0.0))));
                Files.writeString(reportDir.resolve("edge-memory-metrics.txt"), gateway.metrics());
            }
            double bound = B_P99_CEILING_MS;

            report.add("## One client cannot exhaust memory");
            report.add("");
            report.add(String.format(
                    Locale.ROOT,
                    "%d documents of ~%d bytes loaded into tenant-a, %d of ~%d bytes into tenant-a-near, "
                            + "%d small ones into tenant-b (%d ms); load %d s.",
                    BIG_DOCS,
                    PAD + 20,
                    NEAR_DOCS,
                    NEAR_PAD + 20,
                    SMALL_DOCS,
                    loadedMillis,
                    LOAD.toSeconds()));
            report.add("");
            report.add("| requests | connections | answers | MiB received |");
            report.add("|---|---|---|---|");
            Map<String, Integer> connections = Map.of(
                    "list",
                    6,
                    "batchGet",
                    6,
                    "patch",
                    4,
                    "put",
                    4,
                    "get max-stale 1 MiB",
                    4,
                    "get max-stale 60 KiB",
                    4,
                    "B warm-up",
                    B_CONNECTIONS,
                    "B quiet",
                    B_CONNECTIONS,
                    "B loaded",
                    B_CONNECTIONS);
            for (String kind : outcomes.kinds()) {
                report.add(String.format(
                        Locale.ROOT,
                        "| %s | %d | %s | %.0f |",
                        kind,
                        connections.getOrDefault(kind, 0),
                        outcomes.of(kind),
                        received.getOrDefault(kind, new AtomicLong()).get() / 1048576.0));
            }
            report.add("");
            report.add(String.format(
                    Locale.ROOT,
                    "Tenant B: p50 %.1f ms, p99 %.1f ms quiet (%d requests); p50 %.1f ms, p99 %.1f ms, "
                            + "max %.1f ms loaded (%d requests); bound %.0f ms.",
                    quiet.percentileMillis(50),
                    quiet.percentileMillis(99),
                    quiet.count(),
                    loaded.percentileMillis(50),
                    loaded.percentileMillis(99),
                    loaded.maxMillis(),
                    loaded.count(),
                    bound));
            report.add(String.format(
                    Locale.ROOT,
                    "Tenant B's p99 under load is %.1fx its quiet p99 (reported, not asserted).",
                    loaded.percentileMillis(99) / Math.max(0.001, quiet.percentileMillis(99))));
            report.add("Tenant B's reads under load by Cache-Status: " + sources.of("B loaded") + ".");
            report.add("All reads through the cache during the load, by result: " + reads
                    + "; Redis circuit breakers opened " + openings + " times (gateway log); " + near + ".");
            report.add("CPU during the load: " + cpu + ".");
            report.add(String.format(
                    Locale.ROOT,
                    "Gateway: peak RSS %d MiB (VmHWM; container 512 MiB), highest RSS sampled %d MiB; "
                            + "%s; liveness at the end %d, during the load %s.",
                    peakKib / 1024,
                    monitor.peakKib / 1024,
                    alive ? "running" : "EXITED with " + gateway.exitValue(),
                    liveness,
                    monitor.liveness));
            report.add(String.format(
                    Locale.ROOT,
                    "Largest list page %d bytes, largest batchGet answer %d bytes; %.0f waits for "
                            + "response memory refused (503); GC pauses %.1f s in all.",
                    largestPage.get(),
                    largestBatch.get(),
                    refused,
                    gcSeconds));
            if (!outcomes.samples().isEmpty()) {
                report.add("Unexpected answers: " + outcomes.samples());
            }
            report.add("");

            List<org.junit.jupiter.api.function.Executable> checks = new ArrayList<>();
            checks.add(() -> assertEquals(List.of(), CRASHES, "no load thread failed"));
            checks.add(() -> assertTrue(
                    alive && monitor.exit == null,
                    "the gateway never exits (exit status " + gateway.exitValue() + ")"));
            for (String kind : List.of("B warm-up", "B quiet", "B loaded")) {
                checks.add(() -> assertEquals(
                        Set.of("200"), outcomes.of(kind).keySet(), kind + ": every read of tenant B answered 200"));
            }
            checks.add(() -> assertTrue(
                    loaded.percentileMillis(99) <= bound,
                    "tenant B's p99 under load " + loaded.percentileMillis(99) + " ms stays within " + bound
                            + " ms (quiet p99 " + quiet.percentileMillis(99) + " ms)"));
            Map<String, Set<String>> allowed = Map.of(
                    "list",
                    Set.of("200", "503"),
                    "batchGet",
                    Set.of("200", "503"),
                    "patch",
                    Set.of("200", "503"),
                    "put",
                    Set.of("200", "201", "503"),
                    "get max-stale 1 MiB",
                    Set.of("200", "503"),
                    "get max-stale 60 KiB",
                    Set.of("200", "503"));
            allowed.forEach((kind, statuses) -> {
                checks.add(() -> assertTrue(
                        statuses.containsAll(outcomes.of(kind).keySet()),
                        kind + ": only 2xx or 503 with Retry-After, got " + outcomes.of(kind) + " "
                                + outcomes.samples()));
                checks.add(() -> assertTrue(
                        outcomes.countOf(kind, "200") + outcomes.countOf(kind, "201") > 0,
                        kind + ": some succeed " + outcomes.of(kind)));
            });
            checks.add(() -> assertTrue(
                    largestPage.get() <= 1_048_576 + 65_536,
                    "a list page stays within its byte budget: " + largestPage.get()));
            checks.add(() -> assertTrue(
                    largestBatch.get() <= 4_194_304 + 65_536,
                    "a batchGet answer stays within its byte budget: " + largestBatch.get()));
            checks.add(() -> assertTrue(
                    peakKib <= CONTAINER_KIB,
                    "peak RSS " + peakKib / 1024 + " MiB stays within the container's 512 MiB"));
            checks.add(() -> assertEquals(200, liveness, "liveness answers 200 after the load"));
            assertAll("one client cannot exhaust memory", checks);
        }
    }

    /** Reads through the cache so far, by result (hit, miss, bypass, ...). */
    private static Map<String, Double> cacheReads(GatewayProcess gateway) throws IOException, InterruptedException {
        Map<String, Double> reads = new HashMap<>();
        for (String result : List.of("hit", "negative_hit", "stale", "miss", "bypass")) {
            reads.put(result, gateway.metric("strata_cache_reads_total", "result=\"" + result + "\""));
        }
        return reads;
    }

    /** How many times the gateway has logged a Redis circuit breaker opening. */
    private static long breakerOpenings(GatewayProcess gateway) throws IOException {
        try (var lines = Files.lines(gateway.log())) {
            return lines.filter(line -> line.contains("Redis circuit breaker") && line.contains("is now OPEN"))
                    .count();
        }
    }

    /** Walks tenant A's collection with the largest pages there are, again and again. */
    private static void listWalker(
            GatewayProcess gateway,
            String auth,
            long stopAt,
            Outcomes outcomes,
            Map<String, AtomicLong> received,
            LongAccumulator largestPage) {
        try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(30))) {
            String cursor = null;
            while (System.nanoTime() < stopAt) {
                HttpConnection.Reply reply = exchange(
                        connection,
                        outcomes,
                        null,
                        "list",
                        "GET",
                        "/v1/tenant-a/docs?limit=1000" + (cursor == null ? "" : "&after=" + cursor),
                        null,
                        auth);
                if (reply != null && reply.status() == 200) {
                    count(received, "list", reply);
                    largestPage.accumulate(reply.body().length);
                    cursor = nextCursor(reply.body());
                }
            }
        }
    }

    /** Asks for 1000 ids at a time: all of A's big documents and 600 that do not exist, in random order. */
    private static void batchGetter(
            GatewayProcess gateway,
            String auth,
            long stopAt,
            Outcomes outcomes,
            Map<String, AtomicLong> received,
            LongAccumulator largestBatch) {
        List<String> ids = new ArrayList<>();
        IntStream.range(0, BIG_DOCS).forEach(i -> ids.add(bigId(i)));
        IntStream.range(0, 1000 - BIG_DOCS).forEach(i -> ids.add("absent-" + i));
        try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(30))) {
            while (System.nanoTime() < stopAt) {
                Collections.shuffle(ids);
                byte[] body = ids.stream()
                        .map(id -> "\"" + id + "\"")
                        .collect(Collectors.joining(",", "{\"ids\":[", "]}"))
                        .getBytes(StandardCharsets.UTF_8);
                HttpConnection.Reply reply = exchange(
                        connection,
                        outcomes,
                        null,
                        "batchGet",
                        "POST",
                        "/v1/tenant-a/docs:batchGet",
                        body,
                        auth,
                        "Content-Type: application/json");
                if (reply != null && reply.status() == 200) {
                    count(received, "batchGet", reply);
                    largestBatch.accumulate(reply.body().length);
                }
            }
        }
    }

    /** Merge-patches its own 25 big documents in turn (no other writer touches them: no conflicts). */
    private static void patcher(
            GatewayProcess gateway,
            String auth,
            int first,
            long stopAt,
            Outcomes outcomes,
            Map<String, AtomicLong> received) {
        try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(30))) {
            for (int n = 0; System.nanoTime() < stopAt; n++) {
                byte[] patch = ("{\"n\":" + n + ",\"patched\":" + first + "}").getBytes(StandardCharsets.UTF_8);
                HttpConnection.Reply reply = exchange(
                        connection,
                        outcomes,
                        null,
                        "patch",
                        "PATCH",
                        "/v1/tenant-a/docs/" + bigId(first + n % 25),
                        patch,
                        auth,
                        "Content-Type: application/merge-patch+json");
                count(received, "patch", reply);
            }
        }
    }

    /** Replaces its own 25 big documents in turn with bodies of random characters just under the body limit. */
    private static void putter(
            GatewayProcess gateway,
            String auth,
            int first,
            long stopAt,
            Outcomes outcomes,
            Map<String, AtomicLong> received) {
        char[] pad = new char[PAD];
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < pad.length; i++) {
            pad[i] = KEY_CHARS[random.nextInt(62)];
        }
        String padding = new String(pad);
        try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(30))) {
            for (int n = 0; System.nanoTime() < stopAt; n++) {
                byte[] body = ("{\"n\":" + n + ",\"pad\":\"" + padding + "\"}").getBytes(StandardCharsets.UTF_8);
                HttpConnection.Reply reply = exchange(
                        connection,
                        outcomes,
                        null,
                        "put",
                        "PUT",
                        "/v1/tenant-a/docs/" + bigId(first + n % 25),
                        body,
                        auth,
                        "Content-Type: application/json");
                count(received, "put", reply);
            }
        }
    }

    /**
     * Reads random documents accepting answers from the near cache, in turn a big one (too large for
     * the near cache) and one of the 60 KiB ones (which it holds).
     */
    private static void staleReader(
            GatewayProcess gateway, String auth, long stopAt, Outcomes outcomes, Map<String, AtomicLong> received) {
        try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(30))) {
            for (int n = 0; System.nanoTime() < stopAt; n++) {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                String kind = n % 2 == 0 ? "get max-stale 1 MiB" : "get max-stale 60 KiB";
                String target = n % 2 == 0
                        ? "/v1/tenant-a/docs/" + bigId(random.nextInt(BIG_DOCS))
                        : "/v1/tenant-a-near/docs/near-" + random.nextInt(NEAR_DOCS);
                count(
                        received,
                        kind,
                        exchange(
                                connection,
                                outcomes,
                                null,
                                kind,
                                "GET",
                                target,
                                null,
                                auth,
                                "Cache-Control: max-stale=5"));
            }
        }
    }

    /** Tenant B's steady stream of reads of its cached documents, for {@code duration}. */
    private static void runB(
            GatewayProcess gateway, String auth, Duration duration, Latencies latencies, Outcomes outcomes, String kind)
            throws InterruptedException {
        runB(gateway, auth, duration, latencies, outcomes, kind, new Outcomes());
    }

    /** The same, counting where the reads were answered from (their Cache-Status) in {@code sources}. */
    private static void runB(
            GatewayProcess gateway,
            String auth,
            Duration duration,
            Latencies latencies,
            Outcomes outcomes,
            String kind,
            Outcomes sources)
            throws InterruptedException {
        long stopAt = System.nanoTime() + duration.toNanos();
        List<Thread> readers = new ArrayList<>();
        for (int c = 0; c < B_CONNECTIONS; c++) {
            readers.add(worker(kind + "-" + c, () -> {
                try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(10))) {
                    paced(B_RATE_PER_CONNECTION, stopAt, () -> {
                        HttpConnection.Reply reply = exchange(
                                connection,
                                outcomes,
                                latencies,
                                kind,
                                "GET",
                                "/v1/tenant-b/docs/s-"
                                        + ThreadLocalRandom.current().nextInt(SMALL_DOCS),
                                null,
                                auth);
                        if (reply != null) {
                            sources.count(kind, String.valueOf(reply.header("cache-status")));
                        }
                    });
                }
            }));
        }
        for (Thread reader : readers) {
            reader.join();
        }
    }

    /** Watches the gateway during the load: that it runs, its highest RSS, and its liveness every 2 s. */
    private static final class Monitor {
        private final GatewayProcess gateway;
        private final long stopAt;
        /** The highest VmRSS sampled (VmHWM, read at the end, is the true peak while the process lives). */
        volatile long peakKib;

        volatile Integer exit;
        final Map<String, Integer> liveness = new java.util.TreeMap<>();

        Monitor(GatewayProcess gateway, long stopAt) {
            this.gateway = gateway;
            this.stopAt = stopAt;
        }

        void run() {
            long nextProbe = System.nanoTime();
            while (System.nanoTime() < stopAt) {
                try {
                    if (!gateway.alive()) {
                        exit = gateway.exitValue();
                        return;
                    }
                    peakKib = Math.max(peakKib, gateway.rssKib());
                    if (System.nanoTime() >= nextProbe) {
                        nextProbe = System.nanoTime() + 2_000_000_000L;
                        String outcome;
                        try {
                            outcome = String.valueOf(probe(gateway, "/q/health/live"));
                        } catch (IOException e) {
                            outcome = e.getClass().getSimpleName();
                        }
                        synchronized (liveness) {
                            liveness.merge(outcome, 1, Integer::sum);
                        }
                    }
                    Thread.sleep(250);
                } catch (IOException e) {
                    // the process went away between the two reads: seen on the next round
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static String bigId(int i) {
        return String.format(Locale.ROOT, "big-%03d", i);
    }

    /** The {@code next} cursor of a list page (its last member), or null at the end of the collection. */
    static String nextCursor(byte[] page) {
        String tail =
                new String(page, Math.max(0, page.length - 512), Math.min(512, page.length), StandardCharsets.UTF_8);
        int at = tail.lastIndexOf("\"next\":");
        String value = tail.substring(at + 7).trim();
        return value.startsWith("null") ? null : value.substring(1, value.indexOf('"', 1));
    }

    private static void count(Map<String, AtomicLong> received, String kind, HttpConnection.Reply reply) {
        if (reply != null) {
            received.computeIfAbsent(kind, k -> new AtomicLong()).addAndGet(reply.body().length);
        }
    }

    // ------------------------------------------------------------------ flood

    @Test
    @Order(2)
    void aFloodOfUnknownKeysCannotStarveDocuments() throws Exception {
        try (GatewayProcess gateway = gateway("edge-flood")) {
            // the readers' key has no practical rate limit: their own quota must not shape the figures
            String docs =
                    "Authorization: Bearer " + createKey(gateway, "documents", List.of("read:tenant-f"), 1_000_000);
            sql(
                    "INSERT INTO documents (collection, id, version, body) SELECT 'tenant-f', 'd-' || g, nextval('strata_version_seq'), "
                            + "convert_to('{\"n\":' || g || ',\"pad\":\"' || repeat('f', 170) || '\"}', 'UTF8') FROM generate_series(0, "
                            + (FLOOD_DOCS - 1) + ") g");
            assertEquals(
                    FLOOD_DOCS, cacheSmallDocuments(gateway, "tenant-f", "d-", FLOOD_DOCS, docs), "documents cached");

            // both paths compiled before anything is measured; then the key caches and the lookup budget back at rest
            runDocuments(gateway, docs, Duration.ofSeconds(6), true, new Outcomes(), new Latencies());
            Thread.sleep(3000);

            Outcomes quietOutcomes = new Outcomes();
            Latencies quiet = new Latencies();
            CpuUse quietFrom = CpuUse.now(gateway);
            Phase quietPhase = runDocuments(gateway, docs, FLOOD, false, quietOutcomes, quiet);
            String quietCpu = CpuUse.now(gateway).since(quietFrom);

            double lookupsBefore = gateway.metric("strata_auth_key_lookups_total", "");
            Map<String, Double> refusalsBefore = refusals(gateway);
            long from = System.nanoTime();
            Outcomes floodOutcomes = new Outcomes();
            Latencies flooded = new Latencies();
            CpuUse floodFrom = CpuUse.now(gateway);
            Phase floodPhase = runDocuments(gateway, docs, FLOOD, true, floodOutcomes, flooded);
            String floodCpu = CpuUse.now(gateway).since(floodFrom);
            double seconds = (System.nanoTime() - from) / 1e9;
            double lookups = gateway.metric("strata_auth_key_lookups_total", "") - lookupsBefore;
            Map<String, Double> refusalsAfter = refusals(gateway);
            Map<String, Long> refused = new java.util.TreeMap<>();
            refusalsAfter.forEach(
                    (reason, n) -> refused.put(reason, Math.round(n - refusalsBefore.getOrDefault(reason, 0.0))));
            double lookupBound = LOOKUP_CAP * seconds + LOOKUP_CAP + 5;

            report.add("## A flood of unknown keys cannot starve documents");
            report.add("");
            report.add(
                    "| phase | document reads | rate /s | p50 ms | p99 ms | max ms | answers | unknown keys | rate /s | answers |");
            report.add("|---|---|---|---|---|---|---|---|---|---|");
            report.add(row("quiet", quiet, quietPhase, quietOutcomes));
            report.add(row("flood", flooded, floodPhase, floodOutcomes));
            report.add("");
            report.add("CPU, quiet: " + quietCpu + "; flood: " + floodCpu + ".");
            report.add(String.format(
                    Locale.ROOT,
                    "Storage lookups of keys during the flood: %.0f in %.1f s (cap %d/s, bound %.0f). "
                            + "Refusals by reason: %s.",
                    lookups,
                    seconds,
                    LOOKUP_CAP,
                    lookupBound,
                    refused));
            List<String> samples = new ArrayList<>(quietOutcomes.samples());
            samples.addAll(floodOutcomes.samples());
            if (!samples.isEmpty()) {
                report.add("Unexpected answers: " + samples);
            }
            report.add("");

            Files.writeString(reportDir.resolve("edge-flood-metrics.txt"), gateway.metrics());

            assertAll(
                    "a flood of unknown keys cannot starve documents",
                    () -> assertEquals(List.of(), CRASHES, "no load thread failed"),
                    () -> assertEquals(
                            Set.of("200"),
                            quietOutcomes.of("documents").keySet(),
                            "quiet: every document read answered 200"),
                    () -> assertEquals(
                            Set.of("200"),
                            floodOutcomes.of("documents").keySet(),
                            "flood: every document read answered 200"),
                    () -> assertEquals(
                            Set.of("401"),
                            floodOutcomes.of("unknown keys").keySet(),
                            "every made-up key is refused with 401"),
                    () -> assertTrue(
                            floodPhase.floodRate() >= 0.8 * FLOOD_RATE,
                            "the flood reached " + Math.round(floodPhase.floodRate()) + " made-up keys per second of "
                                    + FLOOD_RATE),
                    () -> assertTrue(
                            lookups <= lookupBound,
                            "storage lookups of keys " + lookups + " stay within the cap: " + lookupBound));
            // The latency target (document p99 within 2x of the quiet run) is a timing figure: it is reported
            // here and judged by the benchmark (bench/run.sh, flood scenario), never asserted in a test that CI
            // runs on shared cores.
            System.out.printf(
                    Locale.ROOT,
                    "flood: document p99 %.2f ms vs %.2f ms quiet (%.1fx; target 2x, judged by bench/run.sh)%n",
                    flooded.percentileMillis(99),
                    quiet.percentileMillis(99),
                    flooded.percentileMillis(99) / quiet.percentileMillis(99));
        }
    }

    /** Rates a phase achieved, per second of its run. */
    private record Phase(double documentRate, double floodRate) {}

    private static String row(String phase, Latencies latencies, Phase rates, Outcomes outcomes) {
        return String.format(
                Locale.ROOT,
                "| %s | %d | %.0f | %.2f | %.2f | %.1f | %s | %d | %.0f | %s |",
                phase,
                latencies.count(),
                rates.documentRate(),
                latencies.percentileMillis(50),
                latencies.percentileMillis(99),
                latencies.maxMillis(),
                outcomes.of("documents"),
                outcomes.total("unknown keys"),
                rates.floodRate(),
                outcomes.of("unknown keys"));
    }

    /**
     * Document reads at a steady rate from a few connections for {@code duration}, and with {@code flood}
     * made-up keys at {@link #FLOOD_RATE} per second from other connections meanwhile. A steady rate, not
     * as fast as possible: with the load generator on the gateway's own 2 cores, a closed loop would
     * measure how the cores are shared rather than whether documents wait for keys.
     */
    private static Phase runDocuments(
            GatewayProcess gateway,
            String auth,
            Duration duration,
            boolean flood,
            Outcomes outcomes,
            Latencies latencies)
            throws InterruptedException {
        long startedAt = System.nanoTime();
        long stopAt = startedAt + duration.toNanos();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < DOC_CONNECTIONS; c++) {
            threads.add(worker("documents-" + c, () -> {
                try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(10))) {
                    paced(
                            DOC_RATE_PER_CONNECTION,
                            stopAt,
                            () -> exchange(
                                    connection,
                                    outcomes,
                                    latencies,
                                    "documents",
                                    "GET",
                                    "/v1/tenant-f/docs/d-"
                                            + ThreadLocalRandom.current().nextInt(FLOOD_DOCS),
                                    null,
                                    auth));
                }
            }));
        }
        for (int c = 0; flood && c < FLOOD_CONNECTIONS; c++) {
            threads.add(worker("flood-" + c, () -> {
                try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(10))) {
                    paced(
                            (double) FLOOD_RATE / FLOOD_CONNECTIONS / FLOOD_PIPELINE,
                            stopAt,
                            () -> floodBatch(connection, outcomes));
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        double seconds = (System.nanoTime() - startedAt) / 1e9;
        return new Phase(outcomes.total("documents") / seconds, outcomes.total("unknown keys") / seconds);
    }

    /** One pipelined batch of reads, each with its own made-up key. */
    private static void floodBatch(HttpConnection connection, Outcomes outcomes) {
        List<HttpConnection.Request> batch = new ArrayList<>(FLOOD_PIPELINE);
        for (int i = 0; i < FLOOD_PIPELINE; i++) {
            batch.add(new HttpConnection.Request(
                    "GET",
                    "/v1/tenant-f/docs/d-" + ThreadLocalRandom.current().nextInt(FLOOD_DOCS),
                    null,
                    "Authorization: Bearer " + madeUpKey()));
        }
        try {
            for (HttpConnection.Reply reply : connection.pipeline(batch)) {
                outcomes.count("unknown keys", String.valueOf(reply.status()));
                if (reply.status() != 401) {
                    outcomes.sample("unknown key -> " + reply.status() + " " + reply.text());
                }
            }
        } catch (IOException e) {
            String outcome = e instanceof SocketTimeoutException ? "timeout" : "io: " + e.getMessage();
            batch.forEach(request -> outcomes.count("unknown keys", outcome));
            outcomes.sample("unknown keys: " + e);
        }
    }

    /** A key as the gateway issues them ({@code sk_} and 43 characters of base64url), never issued. */
    private static String madeUpKey() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        char[] key = new char[46];
        key[0] = 's';
        key[1] = 'k';
        key[2] = '_';
        for (int i = 3; i < key.length; i++) {
            key[i] = KEY_CHARS[random.nextInt(KEY_CHARS.length)];
        }
        return new String(key);
    }

    private static Map<String, Double> refusals(GatewayProcess gateway) throws IOException, InterruptedException {
        Map<String, Double> counts = new HashMap<>();
        for (String reason : REFUSAL_REASONS) {
            counts.put(reason, gateway.metric("strata_auth_refusals_total", "reason=\"" + reason + "\""));
        }
        return counts;
    }

    // ------------------------------------------------------------------ shared

    /**
     * CPU time used so far: by the whole machine (busy and total, in clock ticks of all cores), by the
     * gateway and by this JVM (the load generator). The machine's 2 cores are shared with other work,
     * so latencies are only read together with these.
     */
    private record CpuUse(long at, long machineBusy, long machineTotal, double gateway, double generator) {

        static CpuUse now(GatewayProcess gateway) throws IOException {
            String[] cpu =
                    Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < cpu.length; i++) {
                total += Long.parseLong(cpu[i]);
            }
            long idle = Long.parseLong(cpu[4]) + Long.parseLong(cpu[5]);
            double generator = ((com.sun.management.OperatingSystemMXBean)
                                    java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                            .getProcessCpuTime()
                    / 1e9;
            return new CpuUse(System.nanoTime(), total - idle, total, gateway.cpuSeconds(), generator);
        }

        /** Shares of the cores' time since {@code before}: the machine's, the gateway's and the generator's. */
        String since(CpuUse before) {
            double seconds = (at - before.at) / 1e9;
            double cores = Runtime.getRuntime().availableProcessors();
            return String.format(
                    Locale.ROOT,
                    "machine %.0f %% busy, gateway %.0f %%, load generator %.0f %% (of %.0f cores, %.0f s)",
                    100.0 * (machineBusy - before.machineBusy) / Math.max(1, machineTotal - before.machineTotal),
                    100 * (gateway - before.gateway) / seconds / cores,
                    100 * (generator - before.generator) / seconds / cores,
                    cores,
                    seconds);
        }
    }

    /**
     * A packaged gateway with the container's memory settings and production defaults, ready, over
     * empty storage: nothing a previous test wrote (documents, changes still to be applied to the
     * cache) makes work for it.
     */
    private GatewayProcess gateway(String name) throws Exception {
        sql(
                "DO $$ BEGIN IF to_regclass('documents') IS NOT NULL THEN TRUNCATE documents, document_changes; END IF; END $$");
        Map<String, String> env = new HashMap<>();
        env.put("QUARKUS_REDIS_HOSTS", redis.hosts());
        env.put("QUARKUS_DATASOURCE_REACTIVE_URL", postgres.reactiveUrl());
        env.put("QUARKUS_DATASOURCE_JDBC_URL", postgres.jdbcUrl());
        env.put("QUARKUS_DATASOURCE_USERNAME", EmbeddedPostgres.USER);
        env.put("QUARKUS_DATASOURCE_PASSWORD", postgres.password());
        ApiKey.configureCredentials(env);
        GatewayProcess gateway = new GatewayProcess(
                name,
                Path.of(System.getProperty("strata.gateway.jar")),
                CONTAINER_JVM,
                env,
                reportDir.resolve(name + ".log"));
        try {
            gateway.awaitReady(Duration.ofSeconds(90));
        } catch (RuntimeException e) {
            gateway.close();
            throw e;
        }
        return gateway;
    }

    /** Creates a key through the admin API; its secret. */
    private static String createKey(GatewayProcess gateway, String name, List<String> scopes, int rateLimit)
            throws Exception {
        String body = JSON.writeValueAsString(Map.of("name", name, "scopes", scopes, "rateLimit", rateLimit));
        HttpResponse<String> created = HTTP.send(
                ApiKey.request(gateway.uri("/admin/keys"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, created.statusCode(), created.body());
        return JSON.readTree(created.body()).get("secret").asText();
    }

    /**
     * Reads every document until Redis answers it, for at most 30 s (a fill is skipped while a Redis
     * master's breaker is open, as it can be in a JVM still warming up); how many Redis answered.
     */
    private static int cacheSmallDocuments(
            GatewayProcess gateway, String collection, String prefix, int count, String auth)
            throws IOException, InterruptedException {
        List<Integer> uncached = IntStream.range(0, count).boxed().collect(Collectors.toCollection(ArrayList::new));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        try (HttpConnection connection = new HttpConnection(gateway.port(), Duration.ofSeconds(10))) {
            for (int round = 0; !uncached.isEmpty() && System.nanoTime() < deadline; round++) {
                if (round > 1) {
                    Thread.sleep(500);
                }
                List<Integer> missed = new ArrayList<>();
                for (int i : uncached) {
                    HttpConnection.Reply reply =
                            connection.send("GET", "/v1/" + collection + "/docs/" + prefix + i, null, auth);
                    assertEquals(200, reply.status(), reply.text());
                    String status = reply.header("cache-status");
                    // cached: a Redis hit, or a near-cache hit (which the Redis entry was filled for)
                    if (!"strata-near; hit".equals(status) && (status == null || !status.startsWith("strata; hit"))) {
                        missed.add(i);
                    }
                }
                uncached = missed;
            }
        }
        return count - uncached.size();
    }

    /**
     * One request; its outcome is counted under {@code kind} (the status, with {@code 503} only when it
     * says when to retry, or what broke the exchange) and, when it was answered, its time recorded.
     */
    private static HttpConnection.Reply exchange(
            HttpConnection connection,
            Outcomes outcomes,
            Latencies latencies,
            String kind,
            String method,
            String target,
            byte[] body,
            String... headers) {
        long start = System.nanoTime();
        try {
            HttpConnection.Reply reply = connection.send(method, target, body, headers);
            if (latencies != null) {
                latencies.record(System.nanoTime() - start);
            }
            int status = reply.status();
            boolean retryable = status == 503 && reply.header("retry-after") != null;
            outcomes.count(kind, status == 503 && !retryable ? "503 without Retry-After" : String.valueOf(status));
            if (status >= 300 && !retryable && !(status == 401 && kind.equals("unknown keys"))) {
                String text = reply.text();
                outcomes.sample(kind + " " + method + " " + target.substring(0, Math.min(60, target.length())) + " -> "
                        + status + " " + text.substring(0, Math.min(300, text.length())));
            }
            return reply;
        } catch (SocketTimeoutException e) {
            outcomes.count(kind, "timeout");
            outcomes.sample(
                    kind + " " + method + " timed out after " + (System.nanoTime() - start) / 1_000_000 + " ms");
        } catch (IOException | RuntimeException e) {
            outcomes.count(kind, "io: " + e.getMessage());
            outcomes.sample(kind + " " + method + " " + e);
        }
        return null;
    }

    /** Runs {@code step} {@code perSecond} times a second until {@code stopAt}, catching up after short delays. */
    private static void paced(double perSecond, long stopAt, Runnable step) {
        long interval = (long) (1e9 / perSecond);
        long next = System.nanoTime();
        while (true) {
            long now = System.nanoTime();
            if (now >= stopAt) {
                return;
            }
            if (next > now) {
                LockSupport.parkNanos(next - now);
            } else if (now - next > 1_000_000_000L) {
                next = now; // a long stall is not made up for with a burst
            }
            step.run();
            next += interval;
        }
    }

    /** Starts a load thread; what it throws is kept, and fails the test. */
    private static Thread worker(String name, Runnable body) {
        return Thread.ofPlatform()
                .name(name)
                .uncaughtExceptionHandler((thread, failure) -> CRASHES.add(thread.getName() + ": " + failure))
                .start(body);
    }

    private static int probe(GatewayProcess gateway, String path) throws IOException, InterruptedException {
        return HTTP.send(
                        HttpRequest.newBuilder(gateway.management(path))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    /** The probe's status, or -1 when it could not be asked (as a failed probe counts for Kubernetes). */
    private static int probeOrMinusOne(GatewayProcess gateway, String path) throws InterruptedException {
        try {
            return probe(gateway, path);
        } catch (IOException e) {
            return -1;
        }
    }

    private void sql(String statement) throws SQLException {
        try (Connection connection =
                        DriverManager.getConnection(postgres.jdbcUrl(), EmbeddedPostgres.USER, postgres.password());
                var run = connection.createStatement()) {
            run.execute(statement);
        }
    }
}
