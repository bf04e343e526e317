package io.strata.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.testing.History;
import io.strata.testing.History.Kind;
import io.strata.testing.Workload;

/**
 * Concurrent readers and writers over few documents (the fault suite's workload, without faults),
 * with cache entries evicted at random and revalidating reads forcing fills: the recorded history
 * must hold no read older than a write acknowledged before it began (nor a {@code max-stale} read
 * past its bound, nor a batchGet item), and the Redis pool must carry the concurrency without an error.
 */
@QuarkusTest
class ReadInvariantTest extends AuthenticatedTest {

    @Inject
    RedisProbe redis;

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void noReadIsOlderThanAnAcknowledgedWrite() throws Exception {
        String c = "hist-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> keys = List.of("k0", "k1", "k2", "k3", "k4", "k5");
        // a quarter of the reads revalidate (forcing fills), some accept a second of staleness, some are batches
        Workload workload = new Workload(c, keys, apiKey, () -> URI.create("http://localhost:" + port))
                .reads(new Workload.Reads(25, 10, 10))
                .timeout(Duration.ofSeconds(30));
        History history = workload.history;
        // at least 4 s, and on until there are enough operations to mean something (at most 30 s:
        // a slow shared machine gets more time, not a weaker check)
        long minimum = System.nanoTime() + Duration.ofSeconds(4).toNanos();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread judge = Thread.ofPlatform().start(() -> {
            while (System.nanoTime() < minimum
                    || System.nanoTime() < deadline
                            && !(history.count(Kind.READ) > 300
                                    && history.count(Kind.PUT) > 100
                                    && history.count(Kind.DELETE) > 5)) {
                sleep(100);
            }
            running.set(false);
        });
        Thread evictor = Thread.ofPlatform().start(() -> {
            while (running.get()) {
                redis.evict(c, keys.get(ThreadLocalRandom.current().nextInt(keys.size())));
                sleep(3);
            }
        });
        workload.run(4, 8, () -> !running.get());
        judge.join();
        evictor.join();

        Set<String> expected =
                Set.of("PUT 200", "PUT 201", "DELETE 204", "DELETE 404", "GET 200", "GET 404", "BATCH 200");
        Map<String, Long> unexpected = new TreeMap<>(workload.answers());
        unexpected.keySet().removeAll(expected);
        assertEquals(Map.of(), unexpected, "every request answered as expected: " + workload.errorSamples);
        assertTrue(history.count(Kind.READ) > 300, "enough reads to mean something: " + history.count(Kind.READ));
        assertTrue(history.count(Kind.PUT) > 100, "enough writes: " + history.count(Kind.PUT));
        assertTrue(history.count(Kind.DELETE) > 5, "some deletes: " + history.count(Kind.DELETE));
        assertTrue(workload.answers().getOrDefault("BATCH 200", 0L) > 0, "batch reads were checked too");
        List<String> violations = history.violations();
        assertTrue(
                violations.isEmpty(),
                violations.size() + " stale reads, first: "
                        + violations.stream().limit(5).toList());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void manyConcurrentClientsGetNoServerError() throws Exception {
        String c = "conc-" + UUID.randomUUID().toString().substring(0, 8);
        for (int i = 0; i < 50; i++) {
            assertEquals(201, send("PUT", c, "d" + i, "{\"i\":" + i + "}", null).statusCode());
        }
        int clients = 128;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        List<Future<?>> futures = new ArrayList<>();
        for (int client = 0; client < clients; client++) {
            futures.add(pool.submit(() -> {
                for (int i = 0; i < 40; i++) {
                    int n = ThreadLocalRandom.current().nextInt(60); // some ids are absent
                    String cacheControl = i % 5 == 0 ? "no-cache" : null;
                    int status = send("GET", c, "d" + n, null, cacheControl).statusCode();
                    statuses.computeIfAbsent(status, k -> new AtomicInteger()).incrementAndGet();
                }
                return null;
            }));
        }
        for (Future<?> future : futures) {
            future.get();
        }
        pool.shutdown();
        assertEquals(List.of(200, 404), statuses.keySet().stream().sorted().toList(), "statuses: " + statuses);
        assertEquals(
                clients * 40,
                statuses.values().stream().mapToInt(AtomicInteger::get).sum());
    }

    private HttpResponse<String> send(String method, String collection, String id, String body, String cacheControl) {
        HttpRequest.Builder request = HttpRequest.newBuilder(
                        URI.create("http://localhost:" + port + "/v1/" + collection + "/docs/" + id))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + apiKey);
        if (body != null) {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        }
        if (cacheControl != null) {
            request.header("Cache-Control", cacheControl);
        }
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new IllegalStateException(method + " " + id + " failed", e);
        }
    }
}
