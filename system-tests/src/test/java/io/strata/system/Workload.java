package io.strata.system;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import io.strata.testing.History;
import io.strata.testing.History.Kind;

/**
 * Concurrent readers and writers spread over several gateways, recording a history for the
 * read-invariant checker and counting what each request answered.
 */
final class Workload {

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    final History history = new History();
    final AtomicLong requests = new AtomicLong();
    /** Answers a healthy system never gives: 5xx other than 503, timeouts, broken connections. */
    final AtomicLong errors = new AtomicLong();
    /** 503 problem answers (storage unavailable). */
    final AtomicLong unavailable = new AtomicLong();
    /** 503 answers to writes that are committed but whose cache could not be repaired in time (not acknowledged). */
    final AtomicLong notVisible = new AtomicLong();
    /** Reads answered with a copy past its freshness because storage failed. */
    final AtomicLong staleServed = new AtomicLong();

    final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    final List<String> errorSamples = Collections.synchronizedList(new ArrayList<>());

    private final List<GatewayProcess> gateways;
    private final String collection;
    private final List<String> keys;

    Workload(List<GatewayProcess> gateways, String collection, List<String> keys) {
        this.gateways = gateways;
        this.collection = collection;
        this.keys = keys;
    }

    /** Runs {@code writers} writer and {@code readers} reader threads until {@code duration} is over. */
    void run(Duration duration, int writers, int readers) throws InterruptedException {
        long stopAt = System.nanoTime() + duration.toNanos();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (System.nanoTime() < stopAt) {
                    write();
                }
            }));
        }
        for (int r = 0; r < readers; r++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (System.nanoTime() < stopAt) {
                    read();
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
    }

    private GatewayProcess anyGateway() {
        return gateways.get(ThreadLocalRandom.current().nextInt(gateways.size()));
    }

    private String anyKey() {
        return keys.get(ThreadLocalRandom.current().nextInt(keys.size()));
    }

    void write() {
        String key = anyKey();
        boolean delete = ThreadLocalRandom.current().nextInt(10) == 0;
        HttpRequest.Builder request = ApiKey.request(docUri(key)).timeout(Duration.ofSeconds(5));
        if (delete) {
            request.DELETE();
        } else {
            request.header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"at\":" + System.nanoTime() + "}"));
        }
        long start = System.nanoTime();
        HttpResponse<String> response = send(request.build());
        long end = System.nanoTime();
        if (response == null) {
            // no answer: the write may have committed
            history.record(
                    delete ? Kind.UNACKNOWLEDGED_DELETE : Kind.UNACKNOWLEDGED_PUT, key, History.UNKNOWN, start, end);
            return;
        }
        int status = response.statusCode();
        if (delete && status == 204) {
            history.record(Kind.DELETE, key, 0, start, end);
        } else if (!delete && (status == 200 || status == 201)) {
            history.record(Kind.PUT, key, version(response), start, end);
        } else {
            if (status >= 500) {
                // committed or not: a 503 "committed, not yet visible" names the version it committed
                long version = response.headers()
                        .firstValue("ETag")
                        .map(tag -> Long.parseLong(tag.replace("\"", "")))
                        .orElse(History.UNKNOWN);
                history.record(delete ? Kind.UNACKNOWLEDGED_DELETE : Kind.UNACKNOWLEDGED_PUT, key, version, start, end);
            }
            classify(response, delete ? "DELETE" : "PUT", delete && status == 404);
        }
        latencies.add(end - start);
    }

    void read() {
        String key = anyKey();
        HttpRequest request =
                ApiKey.request(docUri(key)).timeout(Duration.ofSeconds(5)).GET().build();
        long start = System.nanoTime();
        HttpResponse<String> response = send(request);
        long end = System.nanoTime();
        if (response == null) {
            return;
        }
        if (response.statusCode() == 200) {
            history.record(Kind.READ, key, version(response), start, end);
            if (response.headers().firstValue("Cache-Status").orElse("").contains("stale-if-error")) {
                staleServed.incrementAndGet();
            }
        } else if (response.statusCode() == 404) {
            history.record(Kind.READ, key, History.ABSENT, start, end);
        } else {
            classify(response, "GET", false);
        }
        latencies.add(end - start);
    }

    private void classify(HttpResponse<String> response, String method, boolean expected) {
        if (expected || response.statusCode() == 412) {
            return;
        }
        if (response.statusCode() == 503
                && response.headers().firstValue("Retry-After").isPresent()
                && response.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json")) {
            (response.body().contains("urn:strata:problem:write-not-visible") ? notVisible : unavailable)
                    .incrementAndGet();
            return;
        }
        errors.incrementAndGet();
        if (errorSamples.size() < 5) {
            errorSamples.add(method + " " + response.statusCode() + " " + response.body());
        }
    }

    private HttpResponse<String> send(HttpRequest request) {
        requests.incrementAndGet();
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            errors.incrementAndGet();
            if (errorSamples.size() < 5) {
                errorSamples.add(request.method() + " " + e);
            }
            return null;
        }
    }

    private URI docUri(String key) {
        return anyGateway().uri("/v1/" + collection + "/docs/" + key);
    }

    private static long version(HttpResponse<String> response) {
        return Long.parseLong(
                response.headers().firstValue("ETag").orElseThrow().replace("\"", ""));
    }

    long p99Millis() {
        List<Long> sorted;
        synchronized (latencies) {
            sorted = new ArrayList<>(latencies);
        }
        if (sorted.isEmpty()) {
            return 0;
        }
        Collections.sort(sorted);
        return sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(sorted.size() * 0.99) - 1)) / 1_000_000;
    }
}
