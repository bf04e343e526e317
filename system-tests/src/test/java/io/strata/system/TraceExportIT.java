package io.strata.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.sun.net.httpserver.HttpServer;

import io.strata.embedded.deployment.EmbeddedPostgres;
import io.strata.embedded.deployment.EmbeddedRedisCluster;

/**
 * Traces leave a packaged gateway: the OTLP exporter is built in and switched on by configuration
 * alone (the endpoint and protocol, as the prod values set them). A local OTLP/HTTP receiver decodes
 * what arrives; a read sent with a W3C {@code traceparent} must arrive as one tree: the server span
 * under the caller's span, the cache span under it, and the Redis and PostgreSQL calls below those.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TraceExportIT {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final int SERVER = 2;

    private final List<Span> received = new CopyOnWriteArrayList<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private HttpServer receiver;
    private EmbeddedPostgres postgres;
    private EmbeddedRedisCluster redis;
    private GatewayProcess gateway;

    /** One decoded span: ids as hex, its kind and its string attributes. */
    record Span(
            String traceId, String spanId, String parentId, String name, int kind, Map<String, String> attributes) {}

    @BeforeAll
    void start() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/v1/traces", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            String encoding = exchange.getRequestHeaders().getFirst("Content-Encoding");
            InputStream in = new ByteArrayInputStream(body);
            if ("gzip".equalsIgnoreCase(encoding)) {
                in = new GZIPInputStream(in);
            }
            requests.add(exchange.getRequestHeaders().getFirst("Content-Type"));
            received.addAll(Otlp.spans(in.readAllBytes()));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        receiver.start();

        postgres = new EmbeddedPostgres(Duration.ofSeconds(60));
        postgres.start();
        redis = new EmbeddedRedisCluster(3, 0, 2000);
        redis.start();
        Map<String, String> env = new HashMap<>();
        env.put("QUARKUS_REDIS_HOSTS", redis.hosts());
        env.put("QUARKUS_DATASOURCE_REACTIVE_URL", postgres.reactiveUrl());
        env.put("QUARKUS_DATASOURCE_JDBC_URL", postgres.jdbcUrl());
        env.put("QUARKUS_DATASOURCE_USERNAME", EmbeddedPostgres.USER);
        env.put("QUARKUS_DATASOURCE_PASSWORD", postgres.password());
        ApiKey.configure(env);
        // what deploy/helm/values-prod.yaml sets, pointed at the local receiver
        env.put(
                "QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://127.0.0.1:" + receiver.getAddress().getPort());
        env.put("QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf");
        env.put("QUARKUS_OTEL_BSP_SCHEDULE_DELAY", "200ms");
        Path reportDir = Path.of(System.getProperty("strata.report.dir", "target"));
        Files.createDirectories(reportDir);
        gateway = new GatewayProcess(
                "traced-gateway",
                Path.of(System.getProperty("strata.gateway.jar")),
                env,
                reportDir.resolve("traced-gateway.log"));
        gateway.awaitReady(Duration.ofSeconds(90));
    }

    @AfterAll
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (receiver != null) {
            receiver.stop(0);
        }
        if (redis != null) {
            redis.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void aReadArrivesAsOneTreeUnderTheCallersSpan() throws Exception {
        HttpResponse<String> put = HTTP.send(
                ApiKey.request(gateway.uri("/v1/traced/docs/one"))
                        .PUT(HttpRequest.BodyPublishers.ofString("{\"traced\":true}"))
                        .header("Content-Type", "application/json")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, put.statusCode(), put.body());

        String traceId = HexFormat.of().formatHex(randomBytes(16));
        String callerSpan = HexFormat.of().formatHex(randomBytes(8));
        // bypasses the cached copy: reads PostgreSQL and refreshes Redis, all under one trace
        HttpResponse<String> get = HTTP.send(
                ApiKey.request(gateway.uri("/v1/traced/docs/one"))
                        .header("traceparent", "00-" + traceId + "-" + callerSpan + "-01")
                        .header("Cache-Control", "no-cache")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, get.statusCode(), get.body());

        List<Span> trace = awaitTrace(traceId, Duration.ofSeconds(20));
        Map<String, Span> byId = new HashMap<>();
        trace.forEach(span -> byId.put(span.spanId(), span));
        String tree = describe(trace);

        List<Span> servers = trace.stream().filter(s -> s.kind() == SERVER).toList();
        assertEquals(1, servers.size(), "one server span:\n" + tree);
        Span server = servers.get(0);
        assertEquals(callerSpan, server.parentId(), "the server span continues the caller's trace:\n" + tree);
        for (Span span : trace) {
            if (span != server) {
                assertTrue(
                        byId.containsKey(span.parentId()), span.name() + " hangs under a span of this trace:\n" + tree);
                assertTrue(descendsFrom(span, server, byId), span.name() + " is below the server span:\n" + tree);
            }
        }
        Span cache = trace.stream()
                .filter(s -> s.name().startsWith("strata.cache."))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no cache span:\n" + tree));
        assertEquals(server.spanId(), cache.parentId(), "the cache span is the server span's child:\n" + tree);
        List<Span> redisCalls = trace.stream()
                .filter(s -> "redis".equals(s.attributes().get("db.system")))
                .toList();
        // the SQL client instrumentation names the system "postgres" (older semantic conventions: "postgresql")
        List<Span> queries = trace.stream()
                .filter(s -> "postgres".equals(s.attributes().get("db.system"))
                        || "postgresql".equals(s.attributes().get("db.system")))
                .toList();
        assertFalse(redisCalls.isEmpty(), "Redis commands in the trace:\n" + tree);
        assertFalse(queries.isEmpty(), "PostgreSQL queries in the trace:\n" + tree);
        for (Span call : redisCalls) {
            assertTrue(
                    descendsFrom(call, cache, byId),
                    "Redis call " + call.name() + " is below the cache span:\n" + tree);
        }
        assertTrue(
                requests.stream().allMatch("application/x-protobuf"::equals), "OTLP over HTTP/protobuf: " + requests);
    }

    private List<Span> awaitTrace(String traceId, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Span> trace = List.of();
        int stableRounds = 0;
        while (System.nanoTime() < deadline) {
            List<Span> now =
                    received.stream().filter(s -> s.traceId().equals(traceId)).toList();
            // spans of one trace may come in several export batches: wait until nothing new arrives
            stableRounds = !now.isEmpty() && now.size() == trace.size() ? stableRounds + 1 : 0;
            trace = now;
            if (stableRounds >= 5) {
                return trace;
            }
            Thread.sleep(200);
        }
        if (trace.isEmpty()) {
            throw new AssertionError(
                    "no span of trace " + traceId + " arrived; " + received.size() + " spans of other traces arrived");
        }
        return trace;
    }

    private static boolean descendsFrom(Span span, Span ancestor, Map<String, Span> byId) {
        Span current = span;
        for (int depth = 0; current != null && depth < 64; depth++) {
            if (current.parentId().equals(ancestor.spanId())) {
                return true;
            }
            current = byId.get(current.parentId());
        }
        return false;
    }

    private static String describe(List<Span> trace) {
        List<String> lines = new ArrayList<>();
        trace.forEach(s -> lines.add("  " + s.spanId() + " <- " + s.parentId() + " " + s.name() + " kind=" + s.kind()
                + " db.system=" + s.attributes().getOrDefault("db.system", "-")));
        return String.join("\n", lines);
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new java.security.SecureRandom().nextBytes(bytes);
        return bytes;
    }

    /** Just enough of the protobuf wire format to read spans out of an ExportTraceServiceRequest. */
    static final class Otlp {

        private final byte[] data;
        private int position;
        private final int end;

        private Otlp(byte[] data, int from, int to) {
            this.data = data;
            this.position = from;
            this.end = to;
        }

        static List<Span> spans(byte[] request) {
            List<Span> spans = new ArrayList<>();
            // ExportTraceServiceRequest.resource_spans = 1, ResourceSpans.scope_spans = 2, ScopeSpans.spans = 2
            for (Otlp resource : new Otlp(request, 0, request.length).messages(1)) {
                for (Otlp scope : resource.messages(2)) {
                    for (Otlp span : scope.messages(2)) {
                        spans.add(span.span());
                    }
                }
            }
            return spans;
        }

        private List<Otlp> messages(int field) {
            List<Otlp> found = new ArrayList<>();
            int saved = position;
            while (position < end) {
                long key = varint();
                int number = (int) (key >>> 3);
                int wire = (int) (key & 7);
                if (wire == 2) {
                    int length = (int) varint();
                    if (number == field) {
                        found.add(new Otlp(data, position, position + length));
                    }
                    position += length;
                } else {
                    skip(wire);
                }
            }
            position = saved;
            return found;
        }

        private Span span() {
            String trace = "", id = "", parent = "", name = "";
            int kind = 0;
            Map<String, String> attributes = new HashMap<>();
            while (position < end) {
                long key = varint();
                int number = (int) (key >>> 3);
                int wire = (int) (key & 7);
                if (wire == 2) {
                    int length = (int) varint();
                    byte[] value = java.util.Arrays.copyOfRange(data, position, position + length);
                    switch (number) {
                        case 1 -> trace = HexFormat.of().formatHex(value);
                        case 2 -> id = HexFormat.of().formatHex(value);
                        case 4 -> parent = HexFormat.of().formatHex(value);
                        case 5 -> name = new String(value, java.nio.charset.StandardCharsets.UTF_8);
                        case 9 -> new Otlp(data, position, position + length).attribute(attributes);
                        default -> {}
                    }
                    position += length;
                } else if (wire == 0 && number == 6) {
                    kind = (int) varint();
                } else {
                    skip(wire);
                }
            }
            return new Span(trace, id, parent, name, kind, attributes);
        }

        /** KeyValue { key = 1; AnyValue value = 2 { string_value = 1 } }: string values only. */
        private void attribute(Map<String, String> into) {
            String key = null;
            String value = null;
            while (position < end) {
                long tag = varint();
                int wire = (int) (tag & 7);
                if (wire != 2) {
                    skip(wire);
                    continue;
                }
                int length = (int) varint();
                if ((tag >>> 3) == 1) {
                    key = new String(data, position, length, java.nio.charset.StandardCharsets.UTF_8);
                } else if ((tag >>> 3) == 2) {
                    Otlp any = new Otlp(data, position, position + length);
                    while (any.position < any.end) {
                        long inner = any.varint();
                        if ((inner & 7) == 2) {
                            int size = (int) any.varint();
                            if ((inner >>> 3) == 1) {
                                value = new String(data, any.position, size, java.nio.charset.StandardCharsets.UTF_8);
                            }
                            any.position += size;
                        } else {
                            any.skip((int) (inner & 7));
                        }
                    }
                }
                position += length;
            }
            if (key != null && value != null) {
                into.put(key, value);
            }
        }

        private long varint() {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte b = data[position++];
                result |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    return result;
                }
            }
            throw new IllegalStateException("malformed varint");
        }

        private void skip(int wire) {
            switch (wire) {
                case 0 -> varint();
                case 1 -> position += 8;
                case 5 -> position += 4;
                case 2 -> position += (int) varint();
                default -> throw new IllegalStateException("unsupported wire type " + wire);
            }
        }
    }
}
