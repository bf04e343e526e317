package io.strata.api;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import io.strata.embedded.deployment.EmbeddedPostgres;
import io.strata.embedded.deployment.EmbeddedRedisCluster;
import io.strata.embedded.deployment.LocalPorts;

/**
 * The packaged gateway ({@code gateway/target/quarkus-app/quarkus-run.jar}) as its own process, with
 * production defaults, over a real PostgreSQL and a real 3-master Redis Cluster started here. Its
 * bootstrap admin key is generated for the run.
 */
final class ContractGateway implements AutoCloseable {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    final String adminKey = "sk_" + random(32);
    private final String pepper = random(32);
    private final EmbeddedPostgres postgres = new EmbeddedPostgres(Duration.ofSeconds(60));
    private final EmbeddedRedisCluster redis = new EmbeddedRedisCluster(3, 0, 2000);
    private Process process;
    private int port;
    private int managementPort;

    void start(Path jar, Path log) throws IOException, InterruptedException {
        postgres.start();
        redis.start();
        for (int start = 1; ; start++) {
            port = LocalPorts.free();
            managementPort = LocalPorts.free();
            process = launch(jar, log);
            try {
                awaitReady(Duration.ofSeconds(90));
                return;
            } catch (IllegalStateException e) {
                String output = Files.readString(log);
                if (start < 3 && !process.isAlive() && output.contains("Address already in use")) {
                    // a port was taken between its choice and the bind (see LocalPorts): new ports
                    Files.move(
                            log,
                            log.resolveSibling(log.getFileName() + ".port-taken-" + start),
                            StandardCopyOption.REPLACE_EXISTING);
                    continue;
                }
                List<String> lines = output.lines().toList();
                throw new IllegalStateException(
                        e.getMessage() + "; the end of its log:\n"
                                + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())),
                        e);
            }
        }
    }

    private Process launch(Path jar, Path log) throws IOException {
        List<String> command = List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-XX:+ExitOnOutOfMemoryError",
                "-jar",
                jar.toString());
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = builder.environment();
        env.put("QUARKUS_HTTP_PORT", String.valueOf(port));
        env.put("QUARKUS_MANAGEMENT_PORT", String.valueOf(managementPort));
        env.put("QUARKUS_REDIS_HOSTS", redis.hosts());
        env.put("QUARKUS_DATASOURCE_REACTIVE_URL", postgres.reactiveUrl());
        env.put("QUARKUS_DATASOURCE_JDBC_URL", postgres.jdbcUrl());
        env.put("QUARKUS_DATASOURCE_USERNAME", EmbeddedPostgres.USER);
        env.put("QUARKUS_DATASOURCE_PASSWORD", postgres.password());
        env.put("STRATA_AUTH_PEPPER", pepper);
        env.put("STRATA_AUTH_BOOTSTRAP_ADMIN_KEY", adminKey);
        return builder.start();
    }

    private void awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the gateway exited with " + process.exitValue());
            }
            try {
                if (HTTP.send(
                                        HttpRequest.newBuilder(management("/q/health/ready"))
                                                .build(),
                                        HttpResponse.BodyHandlers.discarding())
                                .statusCode()
                        == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the gateway was not ready after " + timeout);
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    URI management(String path) {
        return URI.create("http://127.0.0.1:" + managementPort + path);
    }

    /** The status of a GET on the management port and on the API port. */
    int[] statusOnBothPorts(String path) throws IOException, InterruptedException {
        int onManagement = HTTP.send(
                        HttpRequest.newBuilder(management(path)).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
        int onApi = HTTP.send(
                        HttpRequest.newBuilder(URI.create(baseUrl() + path)).build(),
                        HttpResponse.BodyHandlers.discarding())
                .statusCode();
        return new int[] {onManagement, onApi};
    }

    /** The OpenAPI document the gateway serves. */
    String servedDocument() throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(
                HttpRequest.newBuilder(management("/q/openapi?format=json")).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("/q/openapi answered " + response.statusCode());
        }
        return response.body();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        redis.close();
        postgres.close();
    }

    private static String random(int bytes) {
        byte[] value = new byte[bytes];
        new SecureRandom().nextBytes(value);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(value);
    }
}
