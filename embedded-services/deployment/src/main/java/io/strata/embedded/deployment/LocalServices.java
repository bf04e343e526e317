package io.strata.embedded.deployment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * Starts the embedded PostgreSQL and Redis Cluster outside Quarkus, for running the packaged gateway
 * (or several) against real services: {@code bin/local-services}. Writes the environment the gateway
 * needs to a file and runs until interrupted; the servers stop with it.
 *
 * <p>Arguments: {@code ENV_FILE [REDIS_MASTERS [REPLICAS_PER_MASTER [NODE_TIMEOUT_MILLIS]]]}.
 */
public final class LocalServices {

    private LocalServices() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        Path envFile = Path.of(args.length > 0 ? args[0] : "strata-local.env");
        int masters = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int replicas = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        int nodeTimeout = args.length > 3 ? Integer.parseInt(args[3]) : 5000;

        EmbeddedPostgres postgres = new EmbeddedPostgres(Duration.ofSeconds(60));
        postgres.start();
        EmbeddedRedisCluster redis = new EmbeddedRedisCluster(masters, replicas, nodeTimeout);
        redis.start();

        String env = "QUARKUS_REDIS_HOSTS=" + redis.hosts() + "\n"
                + "QUARKUS_DATASOURCE_REACTIVE_URL=" + postgres.reactiveUrl() + "\n"
                + "QUARKUS_DATASOURCE_JDBC_URL=" + postgres.jdbcUrl() + "\n"
                + "QUARKUS_DATASOURCE_USERNAME=" + EmbeddedPostgres.USER + "\n"
                + "QUARKUS_DATASOURCE_PASSWORD=" + postgres.password() + "\n";
        StringBuilder pids = new StringBuilder("STRATA_POSTGRES_PORT=" + postgres.port() + "\n");
        for (EmbeddedRedisCluster.Node node : redis.nodes()) {
            pids.append("STRATA_REDIS_NODE_")
                    .append(node.port())
                    .append('=')
                    .append(node.startedAsMaster() ? "master" : "replica")
                    .append(':')
                    .append(node.pid())
                    .append('\n');
        }
        Files.writeString(envFile, env + pids);
        System.out.println(env + pids);
        System.out.println("local services ready; environment written to " + envFile.toAbsolutePath());
        new CountDownLatch(1).await();
    }
}
