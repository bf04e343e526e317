package io.strata.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.strata.testing.History.Kind;

/**
 * Concurrent writers and readers over a few documents of one collection, spread over gateways,
 * recording a {@link History} for the read-invariant checker and counting what every request was
 * answered. Each request goes to the gateway its supplier picks ({@code http://host:port}); writes
 * and reads can go to different gateways.
 *
 * <p>Writers PUT (and, one time in ten, DELETE) random documents, and may read each acknowledged
 * write back at once ({@link #readBackWrites()}). Readers GET them strictly, and, in the shares
 * {@link Reads} gives, with {@code no-cache}, with {@code max-stale=1} (held to that bound by the
 * checker), or several at once with batchGet.
 *
 * <p>Longer than most classes: it is the one workload the read-invariant test and the fault suite
 * share, and every kind of request it records has to be recorded the same way for the checker.
 */
public final class Workload {

    /** Shares of reads, in percent, that are not plain strict GETs. */
    public record Reads(int noCache, int maxStale, int batch) {
        public static final Reads STRICT = new Reads(0, 0, 0);
    }

    static final Duration MAX_STALE = Duration.ofSeconds(1);
    private static final int BATCH_SIZE = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

    public final History history = new History();
    public final AtomicLong requests = new AtomicLong();
    /** Answers a healthy system never gives: 5xx other than 503, unexpected 4xx, timeouts, broken connections. */
    public final AtomicLong errors = new AtomicLong();
    /** 503 problem answers other than committed-not-visible (storage unavailable, busy). */
    public final AtomicLong unavailable = new AtomicLong();
    /** 503 answers to writes that are committed but whose cache could not be repaired in time (not acknowledged). */
    public final AtomicLong notVisible = new AtomicLong();
    /** Reads answered with a copy past its freshness because storage failed. */
    public final AtomicLong staleServed = new AtomicLong();
    /** Strict single-document reads answered 200, and those of them answered from a near cache. */
    public final AtomicLong strictReads = new AtomicLong();

    public final AtomicLong nearHits = new AtomicLong();
    /** Every request; acknowledged writes; writes answered committed-not-visible. */
    public final Latencies latencies = new Latencies();

    public final Latencies acknowledgedWrites = new Latencies();
    public final Latencies notVisibleWrites = new Latencies();
    public final List<String> errorSamples = Collections.synchronizedList(new ArrayList<>());
    /** The first few 503s counted as unavailable, with their problem. */
    public final List<String> unavailableSamples = Collections.synchronizedList(new ArrayList<>());

    private final Map<String, LongAdder> answers = new ConcurrentHashMap<>();
    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    private final String collection;
    private final List<String> keys;
    private final String apiKey;
    private Supplier<URI> writeTo;
    private Supplier<URI> readFrom;
    private Reads reads = Reads.STRICT;
    private String padding = "";
    private boolean readBack;
    private Duration timeout = Duration.ofSeconds(5);

    /** A workload on {@code keys} of {@code collection}, every request to a gateway {@code gateways} picks. */
    public Workload(String collection, List<String> keys, String apiKey, Supplier<URI> gateways) {
        this.collection = collection;
        this.keys = List.copyOf(keys);
        this.apiKey = apiKey;
        this.writeTo = gateways;
        this.readFrom = gateways;
    }

    /** Picks a gateway at random for each request. */
    public static Supplier<URI> anyOf(List<URI> gateways) {
        List<URI> copy = List.copyOf(gateways);
        return () -> copy.get(ThreadLocalRandom.current().nextInt(copy.size()));
    }

    /**
     * Gives each thread one gateway for all its requests, round robin in the order threads first ask:
     * a gateway that stops answering then holds up only its own threads.
     */
    public static Supplier<URI> pinned(List<URI> gateways) {
        List<URI> copy = List.copyOf(gateways);
        AtomicLong next = new AtomicLong();
        ThreadLocal<URI> mine = ThreadLocal.withInitial(() -> copy.get((int) (next.getAndIncrement() % copy.size())));
        return mine::get;
    }

    public Workload writesTo(Supplier<URI> gateways) {
        this.writeTo = gateways;
        return this;
    }

    public Workload readsFrom(Supplier<URI> gateways) {
        this.readFrom = gateways;
        return this;
    }

    public Workload reads(Reads mix) {
        this.reads = mix;
        return this;
    }

    /** Pads every written document to about {@code bytes}. */
    public Workload documentBytes(int bytes) {
        this.padding = "x".repeat(Math.max(0, bytes - 40));
        return this;
    }

    /**
     * After each acknowledged write, its writer reads the document at once through a reading gateway:
     * the read that begins right after an acknowledgement is where an acknowledgement running ahead
     * of the cache shows.
     */
    public Workload readBackWrites() {
        this.readBack = true;
        return this;
    }

    /** How long a request may take before it counts as an error (and a write as unacknowledged). */
    public Workload timeout(Duration requestTimeout) {
        this.timeout = requestTimeout;
        return this;
    }

    /** Runs {@code writers} writer and {@code readers} reader threads for {@code duration}. */
    public void run(Duration duration, int writers, int readers) throws InterruptedException {
        long stopAt = System.nanoTime() + duration.toNanos();
        run(writers, readers, () -> System.nanoTime() >= stopAt);
    }

    /** Runs {@code writers} writer and {@code readers} reader threads until {@code done}. */
    public void run(int writers, int readers, BooleanSupplier done) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < writers + readers; i++) {
            Runnable step = i < writers ? this::write : this::read;
            threads.add(Thread.ofPlatform()
                    .name(i < writers ? "writer-" + i : "reader-" + (i - writers))
                    .start(() -> {
                        while (!done.getAsBoolean()) {
                            step.run();
                        }
                    }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
    }

    /** One PUT, or one DELETE in ten, of a random document. */
    public void write() {
        String key = anyKey();
        boolean delete = ThreadLocalRandom.current().nextInt(10) == 0;
        URI gateway = writeTo.get();
        HttpRequest.Builder request = request(gateway, "/docs/" + key);
        if (delete) {
            request.DELETE();
        } else {
            request.header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"at\":" + System.nanoTime()
                            + (padding.isEmpty() ? "" : ",\"pad\":\"" + padding + "\"") + "}"));
        }
        String method = delete ? "DELETE" : "PUT";
        Kind unacknowledged = delete ? Kind.UNACKNOWLEDGED_DELETE : Kind.UNACKNOWLEDGED_PUT;
        long start = System.nanoTime();
        HttpResponse<String> response = send(method, request.build());
        long end = System.nanoTime();
        String via = "via " + gateway.getPort();
        if (response == null) {
            history.record(unacknowledged, key, History.UNKNOWN, start, end, via); // it may have committed
            return;
        }
        latencies.record(end - start);
        int status = response.statusCode();
        if (delete && status == 204 || !delete && (status == 200 || status == 201)) {
            history.record(delete ? Kind.DELETE : Kind.PUT, key, delete ? 0 : version(response), start, end, via);
            acknowledgedWrites.record(end - start);
            if (readBack) {
                singleRead(key, null);
            }
        } else {
            if (status >= 500) {
                // committed or not: a 503 "committed, not yet visible" names the version it committed
                long version = response.headers()
                        .firstValue("ETag")
                        .map(Workload::parseTag)
                        .orElse(History.UNKNOWN);
                history.record(unacknowledged, key, version, start, end, via + " " + status);
            }
            if (classify(method, response, delete && status == 404) == notVisible) {
                notVisibleWrites.record(end - start);
            }
        }
    }

    /** One read of the kind the shares of {@link Reads} draw. */
    public void read() {
        int draw = ThreadLocalRandom.current().nextInt(100);
        if (draw < reads.batch()) {
            batchRead();
        } else if (draw < reads.batch() + reads.maxStale()) {
            singleRead(anyKey(), "max-stale=" + MAX_STALE.toSeconds());
        } else if (draw < reads.batch() + reads.maxStale() + reads.noCache()) {
            singleRead(anyKey(), "no-cache");
        } else {
            singleRead(anyKey(), null);
        }
    }

    private void singleRead(String key, String cacheControl) {
        URI gateway = readFrom.get();
        HttpRequest.Builder request = request(gateway, "/docs/" + key).GET();
        if (cacheControl != null) {
            request.header("Cache-Control", cacheControl);
        }
        long start = System.nanoTime();
        HttpResponse<String> response = send("GET", request.build());
        long end = System.nanoTime();
        if (response == null) {
            return;
        }
        latencies.record(end - start);
        int status = response.statusCode();
        if (status != 200 && status != 404) {
            classify("GET", response, false);
            return;
        }
        String cacheStatus = response.headers().firstValue("Cache-Status").orElse("");
        long version = status == 200 ? version(response) : History.ABSENT;
        String detail =
                "via " + gateway.getPort() + (cacheControl == null ? "" : " " + cacheControl) + ": " + cacheStatus;
        if (cacheControl != null && cacheControl.startsWith("max-stale")) {
            history.readAcceptingStaleness(key, version, start, end, MAX_STALE, detail);
        } else {
            history.record(Kind.READ, key, version, start, end, detail);
        }
        if (cacheStatus.contains("stale-if-error")) {
            staleServed.incrementAndGet();
        }
        if (status == 200 && cacheControl == null) {
            strictReads.incrementAndGet();
            if (cacheStatus.startsWith("strata-near; hit")) {
                nearHits.incrementAndGet();
            }
        }
    }

    private void batchRead() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < BATCH_SIZE; i++) {
            ids.add(anyKey());
        }
        URI gateway = readFrom.get();
        String body;
        try {
            body = JSON.writeValueAsString(Map.of("ids", ids));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        HttpRequest request = request(gateway, "/docs:batchGet")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        long start = System.nanoTime();
        HttpResponse<String> response = send("BATCH", request);
        long end = System.nanoTime();
        if (response == null) {
            return;
        }
        latencies.record(end - start);
        if (response.statusCode() != 200) {
            classify("BATCH", response, false);
            return;
        }
        recordBatch(history, response.body(), start, end, "batch via " + gateway.getPort());
    }

    /**
     * Records each document of a batchGet answer as a read: found ones at their version, missing ones
     * as absent. Unprocessed ids were not read.
     */
    static void recordBatch(History history, String answer, long start, long end, String detail) {
        JsonNode root;
        try {
            root = JSON.readTree(answer);
        } catch (IOException e) {
            throw new IllegalStateException("a batchGet answer is JSON: " + answer, e);
        }
        for (JsonNode item : root.path("found")) {
            history.record(
                    Kind.READ, item.get("id").asText(), item.get("version").asLong(), start, end, detail);
        }
        for (JsonNode id : root.path("missing")) {
            history.record(Kind.READ, id.asText(), History.ABSENT, start, end, detail);
        }
    }

    /** Counts an answer other than success; returns the counter it went to, if any. */
    private AtomicLong classify(String method, HttpResponse<String> response, boolean expected) {
        int status = response.statusCode();
        if (expected || status == 412) {
            return null;
        }
        if (status == 503
                && response.headers().firstValue("Retry-After").isPresent()
                && response.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json")) {
            AtomicLong counter =
                    response.body().contains("urn:strata:problem:write-not-visible") ? notVisible : unavailable;
            counter.incrementAndGet();
            if (counter == unavailable && unavailableSamples.size() < 5) {
                unavailableSamples.add(method + " " + response.uri().getPath() + " " + response.body());
            }
            return counter;
        }
        error(method + " " + status + " " + response.body());
        return errors;
    }

    private HttpResponse<String> send(String method, HttpRequest request) {
        requests.incrementAndGet();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            answers.computeIfAbsent(method + " " + response.statusCode(), k -> new LongAdder())
                    .increment();
            return response;
        } catch (IOException e) {
            answers.computeIfAbsent(method + " " + e.getClass().getSimpleName(), k -> new LongAdder())
                    .increment();
            error(method + " " + request.uri() + " " + e);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error(method + " interrupted");
            return null;
        }
    }

    private void error(String sample) {
        errors.incrementAndGet();
        if (errorSamples.size() < 5) {
            errorSamples.add(sample);
        }
    }

    /**
     * Starts the figures (counts, latencies, answers) over, keeping the history: what happened before
     * (documents written to prime the run) is still checked, but not measured.
     */
    public void clearFigures() {
        for (AtomicLong counter :
                List.of(requests, errors, unavailable, notVisible, staleServed, strictReads, nearHits)) {
            counter.set(0);
        }
        for (Latencies recorded : List.of(latencies, acknowledgedWrites, notVisibleWrites)) {
            recorded.clear();
        }
        answers.clear();
        errorSamples.clear();
        unavailableSamples.clear();
    }

    /** How many requests got each answer ({@code "PUT 201"}, {@code "BATCH 200"}, {@code "GET HttpTimeoutException"}…). */
    public Map<String, Long> answers() {
        Map<String, Long> counts = new TreeMap<>();
        answers.forEach((answer, n) -> counts.put(answer, n.sum()));
        return counts;
    }

    public long p99Millis() {
        return (long) latencies.percentileMillis(99);
    }

    private HttpRequest.Builder request(URI gateway, String path) {
        return HttpRequest.newBuilder(gateway.resolve("/v1/" + collection + path))
                .timeout(timeout)
                .header("Authorization", "Bearer " + apiKey);
    }

    private String anyKey() {
        return keys.get(ThreadLocalRandom.current().nextInt(keys.size()));
    }

    private static long version(HttpResponse<String> response) {
        return parseTag(response.headers().firstValue("ETag").orElseThrow());
    }

    private static long parseTag(String tag) {
        return Long.parseLong(tag.replace("\"", ""));
    }
}
