package io.strata.system;

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
import java.util.stream.Collectors;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

import io.strata.embedded.deployment.EmbeddedPostgres;
import io.strata.embedded.deployment.EmbeddedRedisCluster;
import io.strata.testing.History;

/**
 * The processes the fault scenarios run against: PostgreSQL, a Redis Cluster of 3 masters with a
 * replica each (every client connection goes through a {@link TcpProxy}, the nodes announce the
 * proxies), two packaged gateways, and any further gateway a scenario starts. It keeps the table of
 * results, rewritten to {@code fault-injection.md} after every row.
 */
final class FaultLab implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    final EmbeddedPostgres postgres;
    final EmbeddedRedisCluster redis;
    /** The proxy in front of each Redis node, by the node's own port. */
    final Map<Integer, TcpProxy> proxies = new HashMap<>();
    /** The two gateways every scenario uses unless it says otherwise. */
    final List<GatewayProcess> gateways = new ArrayList<>();
    /** The environment of every gateway (the defaults, addresses and credentials of this lab). */
    final Map<String, String> env = new HashMap<>();

    final Path reportDir;
    final Path jar;
    private final List<GatewayProcess> started = new ArrayList<>();
    private final List<String> table = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    FaultLab() throws Exception {
        reportDir = Path.of(System.getProperty("strata.report.dir", "target"));
        jar = Path.of(System.getProperty("strata.gateway.jar"));
        Files.createDirectories(reportDir);
        table.add(
                "| scenario | requests | errors | 503 unavailable | 503 committed, not visible | stale reads | p99 ms "
                        + "| acknowledged writes: p50 / p99 ms | notes |");
        table.add("|---|---|---|---|---|---|---|---|---|");
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
        env.put("QUARKUS_REDIS_HOSTS", hosts);
        env.put("QUARKUS_DATASOURCE_REACTIVE_URL", postgres.reactiveUrl());
        env.put("QUARKUS_DATASOURCE_JDBC_URL", postgres.jdbcUrl());
        env.put("QUARKUS_DATASOURCE_USERNAME", EmbeddedPostgres.USER);
        env.put("QUARKUS_DATASOURCE_PASSWORD", postgres.password());
        // everything else keeps its production default: entries their lifetime (a stale entry left behind
        // by a fault is served as long as it would be in production), the slot map its refresh interval
        // and the storage breaker its delay (a failover or an outage is recovered from as in production)
        if (GatewayProcess.PREVIOUS_RELEASE) {
            // the previous release's defaults were 0 replica acknowledgements and a 50 ms Redis timeout;
            // it runs with the settings the current defaults stand for, so that the scenarios measure its
            // protocol rather than its defaults
            env.put("STRATA_CACHE_REPLICA_ACKS", "1");
            env.put("STRATA_CACHE_REDIS_TIMEOUT", "250ms");
            env.put("STRATA_CACHE_REDIS_BATCH_TIMEOUT", "500ms");
        }
        ApiKey.configure(env);
        for (int i = 0; i < 2; i++) {
            gateways.add(new GatewayProcess("gateway-" + i, jar, env, reportDir.resolve("gateway-" + i + ".log")));
        }
        for (GatewayProcess gateway : gateways) {
            gateway.awaitReady(Duration.ofSeconds(90));
        }
    }

    /**
     * Starts one more gateway with this lab's environment and {@code overrides} (a null value removes
     * the variable), and waits until it is ready. It is stopped when the lab closes, or earlier by the caller.
     */
    GatewayProcess startGateway(String name, Map<String, String> overrides) throws IOException {
        Map<String, String> gatewayEnv = new HashMap<>(env);
        overrides.forEach((variable, value) -> {
            if (value == null) {
                gatewayEnv.remove(variable);
            } else {
                gatewayEnv.put(variable, value);
            }
        });
        GatewayProcess gateway = new GatewayProcess(name, jar, gatewayEnv, reportDir.resolve(name + ".log"));
        started.add(gateway);
        gateway.awaitReady(Duration.ofSeconds(90));
        return gateway;
    }

    /**
     * Waits until every given gateway has closed every breaker and applied every invalidation after the
     * previous scenario, sending a little traffic over every Redis master meanwhile (a breaker only
     * closes after successful calls): a write is acknowledged, and a read that refreshes the cache
     * reaches Redis and stores its answer, for documents on every master.
     */
    void settle(List<GatewayProcess> settling) {
        for (GatewayProcess gateway : settling) {
            Awaitility.await(gateway.name() + " settles after the previous fault")
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(300))
                    .until(() -> settled(gateway));
        }
    }

    private static boolean settled(GatewayProcess gateway) throws IOException, InterruptedException {
        boolean settled = true;
        for (int i = 0; i < 12; i++) {
            URI doc = gateway.uri("/v1/settle/docs/s" + i);
            HTTP.send(
                    ApiKey.request(doc)
                            .header("Content-Type", "application/json")
                            .PUT(HttpRequest.BodyPublishers.ofString("{}"))
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
            HttpResponse<Void> read = HTTP.send(
                    ApiKey.request(doc).header("Cache-Control", "no-cache").build(),
                    HttpResponse.BodyHandlers.discarding());
            settled &= read.headers().firstValue("Cache-Status").orElse("").startsWith("strata; fwd=request; stored");
        }
        return settled && gateway.pendingInvalidations() == 0;
    }

    /** Waits (at most 30 s) until the gateways have no pending invalidation; false if some remain. */
    boolean awaitInvalidationsApplied(List<GatewayProcess> applying) {
        try {
            for (GatewayProcess gateway : applying) {
                Awaitility.await(gateway.name() + " applies its pending invalidations")
                        .atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> gateway.pendingInvalidations() == 0);
            }
            return true;
        } catch (ConditionTimeoutException e) {
            return false;
        }
    }

    Connection database() throws SQLException {
        return DriverManager.getConnection(postgres.jdbcUrl(), EmbeddedPostgres.USER, postgres.password());
    }

    /** Every acknowledged write is in PostgreSQL: no document's version is below one acknowledged for it. */
    void assertNoAcknowledgedWriteLost(String collection, History history) throws SQLException {
        Map<String, Long> stored = new HashMap<>();
        try (Connection connection = database();
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

    /** Storage reads of documents the gateways have made so far. */
    static double storageReads(List<GatewayProcess> reading) throws IOException, InterruptedException {
        double sum = 0;
        for (GatewayProcess gateway : reading) {
            sum += gateway.metric("strata_storage_queries_seconds_count", "operation=\"read\"");
        }
        return sum;
    }

    /**
     * Holds (a null {@code delay}: a partition of that gateway alone) or delays every Redis connection
     * {@code gateway} has or opens, while the other gateways reach Redis as before.
     */
    void affectRedisOf(GatewayProcess gateway, Duration delay) throws IOException, InterruptedException {
        Map<Integer, Long> owners = Sockets.owners();
        proxies.values().forEach(proxy -> proxy.affect(gateway.pid(), delay, owners));
    }

    /** Ends {@link #affectRedisOf}: held connections are cut, delayed ones go on undelayed. */
    void unaffectRedis() {
        proxies.values().forEach(TcpProxy::unaffect);
    }

    /** The proxy in front of a node. */
    TcpProxy proxyOf(EmbeddedRedisCluster.Node node) {
        return proxies.get(node.port());
    }

    /** Adds a row to the table (cells in column order) and rewrites the report. */
    synchronized void row(Object... cells) {
        String line =
                "| " + java.util.Arrays.stream(cells).map(String::valueOf).collect(Collectors.joining(" | ")) + " |";
        table.add(line);
        System.out.println("fault-injection row: " + line);
        writeReport();
    }

    /** Adds a line below the table and rewrites the report. */
    synchronized void note(String line) {
        notes.add(line);
        writeReport();
    }

    private void writeReport() {
        try {
            Files.writeString(reportDir.resolve("fault-injection.md"), report());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private String report() {
        return String.join("\n", table) + "\n\n" + String.join("\n", notes) + "\n";
    }

    @Override
    public void close() throws Exception {
        for (GatewayProcess gateway : started) {
            gateway.resume();
            gateway.close();
        }
        for (GatewayProcess gateway : gateways) {
            gateway.resume();
            gateway.close();
        }
        proxies.values().forEach(TcpProxy::close);
        redis.close();
        postgres.close();
        System.out.println("\nFault injection (" + jar + "):\n" + report());
    }
}
