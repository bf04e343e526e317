package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.test.junit.QuarkusTest;

/**
 * 10,000 generated hostile requests, over raw sockets so that nothing is cleaned up on the way:
 * malformed, deeply nested and badly encoded JSON, huge and odd names, wrong methods and content
 * types, header abuse, precondition abuse, batch and list abuse. Every answer must be below 500,
 * every error {@code application/problem+json} with a matching {@code status}, the gateway must stay
 * up, and the documents written before the run must be exactly as they were (the generator only
 * sends requests to them that must fail). The seed is printed, so that a failure can be replayed.
 */
@QuarkusTest
class HostileInputFuzzTest {

    private static final int REQUESTS = 10_000;
    private static final String KEEP = "fuzz-keep";
    private static final int KEPT = 40;

    @jakarta.inject.Inject
    io.strata.gateway.security.ApiKeys apiKeys;

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    private final ObjectMapper json = new ObjectMapper();

    /** One generated request. */
    private record Hostile(String kind, String method, String target, Map<String, String> headers, byte[] body) {
    }

    /** What came back: the status line, headers and body ({@code status} 0: no answer). */
    private record Answer(int status, Map<String, String> headers, byte[] body) {
    }

    @Test
    void hostileRequestsGetClear4xxProblemsAndChangeNothing() throws Exception {
        String key = TestKeys.create(apiKeys, "admin");
        io.restassured.RestAssured.requestSpecification = null;
        long[] versions = new long[KEPT];
        for (int i = 0; i < KEPT; i++) {
            String etag = given().header("Authorization", "Bearer " + key).contentType("application/json")
                    .body("{\"kept\":" + i + ",\"text\":\"\\u00e9t\\u00e9\"}").put("/v1/{c}/docs/{id}", KEEP, "k" + i)
                    .then().statusCode(org.hamcrest.Matchers.anyOf(org.hamcrest.Matchers.is(200), org.hamcrest.Matchers.is(201)))
                    .extract().header("ETag");
            versions[i] = Long.parseLong(etag.replace("\"", ""));
        }
        long seed = System.nanoTime();
        System.out.println("hostile input fuzz seed: " + seed);
        Generator generator = new Generator(new Random(seed), key, versions);
        List<Hostile> requests = new ArrayList<>(REQUESTS);
        for (int i = 0; i < REQUESTS; i++) {
            requests.add(generator.next());
        }

        Map<String, AtomicInteger> byStatus = new ConcurrentHashMap<>();
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> done = new ArrayList<>();
        for (Hostile request : requests) {
            done.add(pool.submit(() -> {
                Answer answer = send(request);
                boolean head = request.method().equals("HEAD");
                byStatus.computeIfAbsent(request.kind() + " " + answer.status(), k -> new AtomicInteger()).incrementAndGet();
                String problem = violation(answer, head);
                if (problem == null && answer.status() < 400 && request.target().startsWith("/v1/" + KEEP + "/")
                        && !request.method().equals("GET") && !request.method().equals("HEAD")) {
                    problem = "a request that must fail was answered " + answer.status() + ": "
                            + abbreviate(new String(request.body() == null ? new byte[0] : request.body(), StandardCharsets.ISO_8859_1));
                }
                if (problem != null && violations.size() < 20) {
                    violations.add(problem + " <- " + request.kind() + " " + request.method() + " "
                            + abbreviate(request.target()) + " " + abbreviate(request.headers().toString()));
                }
                return null;
            }));
        }
        for (Future<?> future : done) {
            future.get();
        }
        pool.shutdown();
        System.out.println("hostile input answers: " + new java.util.TreeMap<>(byStatus));
        assertTrue(violations.isEmpty(), "seed " + seed + ": " + String.join("\n", violations));
        assertEquals(REQUESTS, byStatus.values().stream().mapToInt(AtomicInteger::get).sum());

        // hostile paths never become metric labels: every uri label is a route template
        String metrics = Management.given().get("/q/metrics").asString();
        java.util.regex.Matcher label = java.util.regex.Pattern.compile("uri=\"([^\"]*)\"").matcher(metrics);
        while (label.find()) {
            assertTrue(label.group(1).matches("/v1/\\{collection}/docs(/\\{id}|:batchGet)?"
                    + "|/v1/other|/admin/keys(/\\{id})?|/admin/other|/refused-before-routing|NOT_FOUND|REDIRECTION|/q/.*"), "uri label " + label.group(1));
        }
        // the process is up and every document written before the run is as it was
        Management.given().get("/q/health/live").then().statusCode(200);
        for (int i = 0; i < KEPT; i++) {
            given().header("Authorization", "Bearer " + key).header("Cache-Control", "no-cache")
                    .get("/v1/{c}/docs/{id}", KEEP, "k" + i).then().statusCode(200)
                    .header("ETag", "\"" + versions[i] + "\"")
                    .body(org.hamcrest.Matchers.equalTo("{\"kept\":" + i + ",\"text\":\"\\u00e9t\\u00e9\"}"));
        }
    }

    /** Why an answer is not acceptable, or {@code null}. */
    private String violation(Answer answer, boolean head) {
        if (answer.status() == 0) {
            return "no answer";
        }
        if (answer.status() >= 500) {
            return "status " + answer.status() + " " + abbreviate(new String(answer.body(), StandardCharsets.UTF_8));
        }
        if (answer.status() >= 400) {
            String type = answer.headers().getOrDefault("content-type", "");
            if (!type.startsWith("application/problem+json")) {
                return "status " + answer.status() + " with content type '" + type + "'";
            }
            if (head) {
                return null; // an answer to HEAD has no body
            }
            try {
                JsonNode problem = json.readTree(answer.body());
                if (problem.path("status").asInt() != answer.status() || !problem.hasNonNull("title") || !problem.hasNonNull("type")) {
                    return "incomplete problem " + abbreviate(problem.toString());
                }
            } catch (IOException e) {
                return "problem body is not JSON: " + abbreviate(new String(answer.body(), StandardCharsets.UTF_8));
            }
        }
        return null;
    }

    private Answer send(Hostile request) {
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(20_000);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write((request.method() + " " + request.target() + " HTTP/1.1\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(("Host: localhost:" + port + "\r\nConnection: close\r\n").getBytes(StandardCharsets.ISO_8859_1));
            for (Map.Entry<String, String> header : request.headers().entrySet()) {
                out.write((header.getKey() + ": " + header.getValue() + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            }
            byte[] body = request.body() == null ? new byte[0] : request.body();
            if (request.body() != null) {
                out.write(("Content-Length: " + body.length + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            }
            out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            OutputStream socketOut = socket.getOutputStream();
            socketOut.write(out.toByteArray());
            socketOut.flush();
            return parse(socket.getInputStream().readAllBytes());
        } catch (IOException e) {
            return new Answer(0, Map.of(), e.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    private static Answer parse(byte[] raw) {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (!text.startsWith("HTTP/1.1 ") || end < 0) {
            return new Answer(0, Map.of(), raw);
        }
        String[] lines = text.substring(0, end).split("\r\n");
        Map<String, String> headers = new HashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(), lines[i].substring(colon + 1).trim());
            }
        }
        byte[] body = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = dechunk(body);
        }
        return new Answer(Integer.parseInt(lines[0].substring(9, 12)), headers, body);
    }

    private static byte[] dechunk(byte[] chunked) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = 0;
        String text = new String(chunked, StandardCharsets.ISO_8859_1);
        while (at < text.length()) {
            int lineEnd = text.indexOf("\r\n", at);
            if (lineEnd < 0) {
                break;
            }
            int size = Integer.parseInt(text.substring(at, lineEnd).split(";")[0].trim(), 16);
            if (size == 0) {
                break;
            }
            out.write(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
        return out.toByteArray();
    }

    private static String abbreviate(String text) {
        return text.length() <= 160 ? text : text.substring(0, 160) + "…(" + text.length() + ")";
    }

    /** Hostile requests, from a seed. Requests to the kept documents are only ones that must fail. */
    private static final class Generator {
        private static final String[] ODD_SEGMENTS = { "", ".", "..", "%2e%2e", "%2F", "a%2Fb", "%00", "a%00b", "%ZZ", "%", "%C3%28",
                "%FF%FE", "%E2%80%AE", "%F0%9F%92%A9", "{x}", "%7Bx%7D", "UPPER", "sp%20ace", "tab%09", "a:b", "~", "-",
                "x".repeat(257), "y".repeat(5000), "%u0041", "%%%", "\u00e9", "'or'1'='1", "$(id)", "..%2F..%2Fetc" };
        private static final String[] METHODS = { "POST", "OPTIONS", "TRACE", "PROPFIND", "CONNECT-ISH", "FOO", "M-SEARCH", "PATCH",
                "PUT", "DELETE", "GET", "HEAD" };
        /** Not JSON at all: a write with one of these must be refused (415). */
        private static final String[] TYPES = { "text/plain", "application/xml", "multipart/form-data; boundary=x",
                "application/merge-patch+json", "application/x-www-form-urlencoded", "application/jsonx", "json", "text/json" };
        /** Odd spellings a server may read as JSON: sent to scratch documents only. */
        private static final String[] ODD_TYPES = { "application/json; charset=iso-8859-1", "*/*", "application/json;;;", "",
                "APPLICATION/JSON", "application/json; x=\"y\"" };
        private static final String[] BAD_JSON = { "", "{", "}", "[", "{\"a\":}", "{\"a\" 1}", "{'a':1}", "{\"a\":1,}", "[1,2,]",
                "{\"a\":1}{\"b\":2}", "nul", "tru", "NaN", "Infinity", "-", "01", "1.", ".5", "1e", "\"unterminated",
                "\"\\x41\"", "\"\\u12\"", "\"\\ud800x\"", "{\"a\":1,\"a\":2}", "/* c */ {}", "{} // c", "\u0000", "[\"\t\"]",
                "{\"a\":[1,2,{\"b\":}]}", "\ufeff{}", "{\"a\":1}\u0000", "[" + "1,".repeat(1000) + "]x", "\"\\\"" };
        private final Random random;
        private final String key;
        private final long[] versions;
        private int serial;

        Generator(Random random, String key, long[] versions) {
            this.random = random;
            this.key = key;
            this.versions = versions;
        }

        private <T> T pick(T[] values) {
            return values[random.nextInt(values.length)];
        }

        private Map<String, String> auth() {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Authorization", "Bearer " + key);
            return headers;
        }

        private String kept() {
            return "/v1/" + KEEP + "/docs/k" + random.nextInt(KEPT);
        }

        private String scratch() {
            return "/v1/fuzz/docs/f" + (serial++ % 500);
        }

        Hostile next() {
            return switch (random.nextInt(12)) {
                case 0 -> badJson();
                case 1 -> deepJson();
                case 2 -> badUtf8();
                case 3 -> oddNames();
                case 4 -> wrongMethod();
                case 5 -> wrongContentType();
                case 6 -> headerAbuse();
                case 7 -> preconditionAbuse();
                case 8 -> batchAbuse();
                case 9 -> listAbuse();
                case 10 -> targetAbuse();
                default -> authAbuse();
            };
        }

        private Hostile write(String kind, String target, String type, byte[] body) {
            Map<String, String> headers = auth();
            boolean patch = random.nextBoolean();
            headers.put("Content-Type", type != null ? type : patch ? "application/merge-patch+json" : "application/json");
            return new Hostile(kind, patch ? "PATCH" : "PUT", target, headers, body);
        }

        private Hostile badJson() {
            String body = pick(BAD_JSON);
            return write("bad-json", random.nextBoolean() ? kept() : scratch(), null, body.getBytes(StandardCharsets.UTF_8));
        }

        private Hostile deepJson() {
            int depth = 129 + random.nextInt(random.nextBoolean() ? 200 : 20_000);
            boolean arrays = random.nextBoolean();
            String open = arrays ? "[" : "{\"a\":";
            String close = arrays ? "]" : "}";
            String body = open.repeat(depth) + "1" + close.repeat(random.nextInt(4) == 0 ? depth / 2 : depth);
            return write("deep-json", random.nextBoolean() ? kept() : scratch(), null, body.getBytes(StandardCharsets.UTF_8));
        }

        private Hostile badUtf8() {
            byte[][] bad = { { (byte) 0xC3, 0x28 }, { (byte) 0xFF }, { (byte) 0xED, (byte) 0xA0, (byte) 0x80 },
                    { (byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80 }, { (byte) 0xC0, (byte) 0xAF }, { (byte) 0xE2, (byte) 0x82 } };
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes("{\"s\":\"ab".getBytes(StandardCharsets.US_ASCII));
            body.writeBytes(pick(bad));
            body.writeBytes("\"}".getBytes(StandardCharsets.US_ASCII));
            return write("bad-utf8", random.nextBoolean() ? kept() : scratch(), null, body.toByteArray());
        }

        private Hostile oddNames() {
            String collection = random.nextInt(3) == 0 ? pick(ODD_SEGMENTS) : "fuzz";
            String id = random.nextInt(3) == 0 ? "f1" : pick(ODD_SEGMENTS);
            String target = "/v1/" + collection + "/docs/" + id;
            if (random.nextBoolean()) {
                return new Hostile("odd-names", "GET", target, auth(), null);
            }
            Map<String, String> headers = auth();
            headers.put("Content-Type", "application/json");
            return new Hostile("odd-names", random.nextBoolean() ? "PUT" : "DELETE", target, headers,
                    "{\"odd\":true}".getBytes(StandardCharsets.UTF_8));
        }

        private Hostile wrongMethod() {
            String[] targets = { scratch(), "/v1/fuzz/docs", "/v1/fuzz/docs:batchGet", "/v1/fuzz", "/v1", "/v1/fuzz/nothing" };
            String method = pick(METHODS);
            String target = pick(targets);
            if (method.equals("PUT") || method.equals("DELETE") || method.equals("PATCH")) {
                target = "/v1/fuzz/docs" + (random.nextBoolean() ? "" : ":batchGet");
            }
            return new Hostile("wrong-method", method, target, auth(), random.nextBoolean() ? null : "{}".getBytes(StandardCharsets.UTF_8));
        }

        private Hostile wrongContentType() {
            if (random.nextInt(3) == 0) {
                Map<String, String> headers = auth();
                String odd = pick(ODD_TYPES);
                if (!odd.isEmpty()) {
                    headers.put("Content-Type", odd);
                }
                return new Hostile("odd-type", random.nextBoolean() ? "PUT" : "PATCH", scratch(), headers,
                        "{\"x\":1}".getBytes(StandardCharsets.UTF_8));
            }
            String type = pick(TYPES);
            if (type.equals("application/merge-patch+json")) {
                Map<String, String> headers = auth();
                headers.put("Content-Type", type);
                return new Hostile("wrong-type", "PUT", kept(), headers, "{\"x\":1}".getBytes(StandardCharsets.UTF_8));
            }
            Map<String, String> headers = auth();
            if (!type.isEmpty()) {
                headers.put("Content-Type", type);
            }
            return new Hostile("wrong-type", random.nextBoolean() ? "PUT" : "PATCH", kept(), headers, "{\"x\":1}".getBytes(StandardCharsets.UTF_8));
        }

        private Hostile headerAbuse() {
            Map<String, String> headers = auth();
            switch (random.nextInt(6)) {
                case 0 -> {
                    for (int i = 0; i < 101 + random.nextInt(100); i++) {
                        headers.put("X-Fuzz-" + i, "v" + i);
                    }
                }
                case 1 -> headers.put("X-Big", "b".repeat(16_400 + random.nextInt(60_000)));
                case 2 -> headers.put("Cache-Control", pick(new String[] { "max-stale=-1", "max-stale=99999999999999999999999",
                        "stale-if-error=abc", "no-cache=", ",,,", "max-stale=\"", "=" , "max-stale" + "=1,".repeat(500) }));
                case 3 -> headers.put("If-None-Match", pick(new String[] { "\"", "*, *", "W/", "\"a\" \"b\"", "\"" + "9".repeat(40) + "\"",
                        "\"1\",".repeat(2000), "garbage" }));
                case 4 -> headers.put("Accept", pick(new String[] { "text/html", "application/xml", "*/*;q=abc", "", "x".repeat(3000) }));
                default -> headers.put("X-Odd", "\u00ff\u00fe\u0080" + "é".repeat(10));
            }
            return new Hostile("header-abuse", "GET", random.nextBoolean() ? kept() : scratch(), headers, null);
        }

        private Hostile preconditionAbuse() {
            int i = random.nextInt(KEPT);
            String target = "/v1/" + KEEP + "/docs/k" + i;
            Map<String, String> headers = auth();
            String[] wrong = { "\"" + (versions[i] + 1 + random.nextInt(1000)) + "\"", "\"" + (versions[i] - 1) + "\"",
                    "W/\"" + versions[i] + "\"", "\"-1\"", "\"abc\"", "\"" + versions[i] + "0\"", "\"\"", "\"" + "9".repeat(30) + "\"",
                    "\"0\"", "\"00" + versions[i] + "\"", "\"" + versions[i] + "\"x", "x\"" + versions[i] + "\"" };
            String method = pick(new String[] { "PUT", "PATCH", "DELETE" });
            if (method.equals("PUT") && random.nextInt(4) == 0) {
                headers.put("If-None-Match", "*");
            } else {
                headers.put("If-Match", pick(wrong));
            }
            headers.put("Content-Type", method.equals("PATCH") ? "application/merge-patch+json" : "application/json");
            return new Hostile("precondition", method, target, headers,
                    method.equals("DELETE") ? null : "{\"changed\":true}".getBytes(StandardCharsets.UTF_8));
        }

        private Hostile batchAbuse() {
            String[] bodies = { "{}", "{\"ids\":\"x\"}", "{\"ids\":[1,2]}", "{\"ids\":[null]}", "{\"ids\":[[\"a\"]]}", "[]",
                    "{\"ids\":[" + "\"a\",".repeat(1000) + "\"a\"]}", "{\"ids\":[\"" + "x".repeat(300) + "\"]}",
                    "{\"ids\":[\"..\"]}", "{\"ids\":[\"\"]}", "{\"ids\":[\"a\"],\"ids\":[\"b\"]}", "{\"ids\":{\"a\":1}}", "null" };
            Map<String, String> headers = auth();
            headers.put("Content-Type", random.nextInt(5) == 0 ? "text/plain" : "application/json");
            return new Hostile("batch-abuse", "POST", "/v1/fuzz/docs:batchGet", headers, pick(bodies).getBytes(StandardCharsets.UTF_8));
        }

        private Hostile listAbuse() {
            String[] queries = { "limit=-1", "limit=0", "limit=abc", "limit=1001", "limit=99999999999999999999", "after=%%%",
                    "after=" + "A".repeat(2000), "after=!!!!", "limit=1&limit=2", "limit=", "after", "limit=1e3", "limit=%00" };
            return new Hostile("list-abuse", "GET", "/v1/fuzz/docs?" + pick(queries), auth(), null);
        }

        private Hostile targetAbuse() {
            if (random.nextBoolean()) {
                return new Hostile("target-abuse", "GET", "/v1/fuzz/docs/" + "z".repeat(8200 + random.nextInt(20_000)), auth(), null);
            }
            StringBuilder query = new StringBuilder("/v1/fuzz/docs?limit=1");
            for (int i = 0; i < 16 + random.nextInt(200); i++) {
                query.append("&p").append(i).append('=').append(i);
            }
            return new Hostile("target-abuse", "GET", query.toString(), auth(), null);
        }

        private Hostile authAbuse() {
            Map<String, String> headers = new LinkedHashMap<>();
            String[] values = { "", "Bearer", "Bearer ", "Bearer " + key + "x", "bearer " + key.substring(1), "Basic " + key,
                    "Bearer " + "k".repeat(500), "Bearer \u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
                    "Bearer a b", "Token " + key };
            String value = pick(values);
            if (!value.isEmpty()) {
                headers.put("Authorization", value);
            }
            headers.put("Content-Type", "application/json");
            return new Hostile("auth-abuse", random.nextBoolean() ? "GET" : "DELETE", kept(), headers, null);
        }
    }
}
