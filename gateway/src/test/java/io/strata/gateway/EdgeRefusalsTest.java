package io.strata.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.gateway.RawHttp.Answer;
import io.strata.gateway.RawHttp.Request;
import io.strata.gateway.security.ApiKeys;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;

/**
 * What a client chooses that no route answers (a method name, a request target that is not a path,
 * any path at all) is refused before routing with problem+json, over HTTP/1.1 and HTTP/2 alike, and
 * never becomes a label of the HTTP metrics: every label value is a series kept in memory and in
 * every scrape, and the number of {@code uri} values is capped, so a client's choices could grow the
 * heap or push the real routes' series out.
 */
@QuarkusTest
class EdgeRefusalsTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<String> METHOD_LABELS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER");
    private static final Set<String> URI_LABELS = Set.of(
            "/v1/{collection}/docs/{id}",
            "/v1/{collection}/docs",
            "/v1/{collection}/docs:batchGet",
            "/v1/other",
            "/admin/keys/{id}",
            "/admin/other",
            "/refused-before-routing",
            "/other");
    private static final Pattern HTTP_SERVER_SERIES =
            Pattern.compile("(?m)^http_server_requests_seconds_count\\{([^}]*)}");

    @Inject
    ApiKeys keys;

    @Inject
    Vertx vertx;

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    private static Request request(String method, String target) {
        return new Request(method, target, Map.of("Host", "localhost"), new byte[0]);
    }

    private static String letters(int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append((char) ('A' + RANDOM.nextInt(26)));
        }
        return s.toString();
    }

    /** The values of one label over every series of the HTTP server's request timer. */
    private static Set<String> labelValues(String label) {
        String metrics = Management.given().get("/q/metrics").asString();
        Pattern value = Pattern.compile("(?:^|,)" + label + "=\"([^\"]*)\"");
        Set<String> values = new TreeSet<>();
        Matcher series = HTTP_SERVER_SERIES.matcher(metrics);
        while (series.find()) {
            Matcher m = value.matcher(series.group(1));
            if (m.find()) {
                values.add(m.group(1));
            }
        }
        return values;
    }

    @Test
    void aMethodNoRouteAnswersIsRefusedAndLabelledOther() {
        try (RawHttp http = new RawHttp("localhost", port)) {
            for (int i = 0; i < 50; i++) {
                Answer answer = http.send(request(letters(16), "/v1/c/docs/x"));
                assertEquals(405, answer.status(), answer.text());
                assertTrue(answer.isProblem(), answer.contentType());
                assertEquals(
                        "GET, HEAD, POST, PUT, PATCH, DELETE", answer.headers().get("allow"));
            }
            // the framework would answer OPTIONS itself, with no key, for any route
            for (String target : new String[] {"/admin/keys", "/v1/c/docs/x", "/v1/c/docs"}) {
                Answer options = http.send(request("OPTIONS", target));
                assertEquals(405, options.status(), target + " " + options.text());
                assertTrue(options.isProblem(), options.contentType());
            }
        }
        Set<String> methods = labelValues("method");
        assertTrue(METHOD_LABELS.containsAll(methods), "method labels " + methods);
        assertTrue(methods.contains("OTHER"), "refused methods are counted, as OTHER: " + methods);
    }

    @Test
    void aTargetThatIsNotAPathIsRefusedAndNoTargetBecomesALabel() {
        String admin = TestKeys.create(keys, "admin");
        try (RawHttp http = new RawHttp("localhost", port)) {
            for (String target : new String[] {"http://localhost/admin/keys", "HTTP://LOCALHOST/v1/c/docs/x"}) {
                Answer answer = http.send(request("GET", target));
                assertEquals(400, answer.status(), target + " " + answer.text());
                assertTrue(answer.isProblem(), target + " " + answer.contentType());
            }
            // neither a path nor a URI: the HTTP server answers 404 before any handler of Strata's runs
            for (String target : new String[] {"*", "z123", "http:/v1/c/docs/x"}) {
                Answer answer = http.send(request("GET", target));
                assertEquals(404, answer.status(), target + " " + answer.text());
            }
            // more distinct paths than the metrics keep uri labels for: each canonical, none a route
            for (int i = 0; i < 150; i++) {
                Answer answer = http.send(request("GET", "/" + letters(10).toLowerCase() + "/" + i));
                assertEquals(404, answer.status(), answer.text());
                assertTrue(answer.isProblem(), answer.contentType());
            }
            Answer listed = http.send(new Request(
                    "GET",
                    "/admin/keys",
                    Map.of("Host", "localhost", "Authorization", "Bearer " + admin),
                    new byte[0]));
            assertEquals(200, listed.status(), listed.text());
        }
        Set<String> uris = labelValues("uri");
        assertTrue(URI_LABELS.containsAll(uris), "uri labels " + uris);
        assertTrue(uris.contains("/other"), "unmatched paths are counted, as /other: " + uris);
    }

    @Test
    void aRefusalBeforeRoutingReachesAnHttp2ClientAsAnAnswer() throws Exception {
        HttpClient client = vertx.createHttpClient(
                new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
        try {
            for (String target : new String[] {"//admin/keys", "/v1/c/docs/%2E%2E/x", "/admin;x/keys"}) {
                Object[] answer = client.request(HttpMethod.GET, port, "localhost", target)
                        .compose(request -> request.send())
                        .compose(response -> response.body().map(body -> new Object[] {
                            response.statusCode(), response.getHeader("Content-Type"), response.version()
                        }))
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
                assertEquals(400, answer[0], target);
                assertEquals("application/problem+json", answer[1], target);
                assertEquals(HttpVersion.HTTP_2, answer[2], target);
            }
        } finally {
            client.close();
        }
    }
}
