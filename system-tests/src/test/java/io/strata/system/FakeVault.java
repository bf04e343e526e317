package io.strata.system;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A local HTTP server that speaks the two parts of the Vault API Strata uses: the Kubernetes auth
 * login ({@code POST /v1/auth/kubernetes/login} with a role and the service account's JWT) and a KV
 * version 2 read ({@code GET /v1/secret/data/<path>} with the token the login issued). Anything else,
 * a wrong role, JWT or token is refused as Vault would (400/403/404). It records what it was asked.
 */
final class FakeVault implements AutoCloseable {

    private final HttpServer server;
    private final ObjectMapper json = new ObjectMapper();
    private final String role;
    private final String jwt;
    private final String path;
    private final Map<String, String> secret;
    private final String token = "hvs." + UUID.randomUUID();
    final List<String> calls = new CopyOnWriteArrayList<>();

    FakeVault(String role, String jwt, String path, Map<String, String> secret) throws IOException {
        this.role = role;
        this.jwt = jwt;
        this.path = path;
        this.secret = secret;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String uri = exchange.getRequestURI().getPath();
        calls.add(method + " " + uri);
        try (exchange) {
            if (method.equals("POST") && uri.equals("/v1/auth/kubernetes/login")) {
                JsonNode login = json.readTree(exchange.getRequestBody().readAllBytes());
                if (!role.equals(login.path("role").asText())
                        || !jwt.equals(login.path("jwt").asText())) {
                    reply(exchange, 403, Map.of("errors", List.of("permission denied")));
                    return;
                }
                reply(
                        exchange,
                        200,
                        Map.of(
                                "auth",
                                Map.of(
                                        "client_token",
                                        token,
                                        "accessor",
                                        "a",
                                        "policies",
                                        List.of("strata"),
                                        "lease_duration",
                                        3600,
                                        "renewable",
                                        true,
                                        "metadata",
                                        Map.of("role", role))));
                return;
            }
            if (!token.equals(exchange.getRequestHeaders().getFirst("X-Vault-Token"))) {
                reply(exchange, 403, Map.of("errors", List.of("permission denied")));
                return;
            }
            if (method.equals("GET") && uri.equals("/v1/secret/data/" + path)) {
                reply(
                        exchange,
                        200,
                        Map.of(
                                "data",
                                Map.of(
                                        "data",
                                        secret,
                                        "metadata",
                                        Map.of(
                                                "version",
                                                1,
                                                "created_time",
                                                "2026-11-30T00:00:00Z",
                                                "deletion_time",
                                                "",
                                                "destroyed",
                                                false))));
                return;
            }
            reply(exchange, 404, Map.of("errors", List.of()));
        }
    }

    private void reply(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
