package io.strata.storage.pg;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

import org.awaitility.Awaitility;
import org.flywaydb.core.Flyway;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.mutiny.Uni;
import io.strata.embedded.deployment.EmbeddedPostgres;
import io.strata.storage.ChangeLog;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.pgclient.PgBuilder;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.PoolOptions;

/**
 * One real PostgreSQL for the adapter's tests, started once per test JVM (and stopped at its exit),
 * migrated by Flyway as the application does at start-up, and the adapter built by hand on a Vert.x
 * pool, as CDI would: the three stores share one {@link StorageGuards} with the production defaults
 * and one {@link PgListener}.
 */
final class RealPostgres {

    static final Duration WAIT = Duration.ofSeconds(30);
    private static RealPostgres instance;

    final EmbeddedPostgres server;
    final StorageConfig config;
    final Vertx vertx;
    final Pool pool;
    final StorageGuards guards;
    final PgListener listener;
    final PgDocumentStore documents;
    final PgChangeLog changes;
    final PgApiKeyStore keys;

    static synchronized RealPostgres get() {
        if (instance == null) {
            instance = new RealPostgres();
        }
        return instance;
    }

    private RealPostgres() {
        server = new EmbeddedPostgres(Duration.ofSeconds(60));
        server.start();
        Flyway.configure()
                .dataSource(server.jdbcUrl(), EmbeddedPostgres.USER, server.password())
                .load()
                .migrate();

        // the mapping alone, without the environment: its @WithDefault values are the production defaults,
        // read with Quarkus's duration syntax ("2s") as in the application
        config = new SmallRyeConfigBuilder()
                .withMapping(StorageConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter())
                .build()
                .getConfigMapping(StorageConfig.class);
        vertx = Vertx.vertx();
        PgConnectOptions connect = PgConnectOptions.fromUri(server.reactiveUrl())
                .setUser(EmbeddedPostgres.USER)
                .setPassword(server.password());
        pool = PgBuilder.pool()
                .with(new PoolOptions().setMaxSize(16))
                .connectingTo(connect)
                .using(vertx)
                .build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        guards = new StorageGuards(config, registry);
        listener = new PgListener(
                vertx,
                server.reactiveUrl(),
                java.util.Optional.empty(),
                EmbeddedPostgres.USER,
                server.password(),
                java.util.Optional.empty(),
                null);
        documents = new PgDocumentStore(pool, guards, registry);
        changes = new PgChangeLog(pool, guards, listener);
        keys = new PgApiKeyStore(pool, guards, listener);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> vertx.closeAndForget(), "storage-test-vertx-stop"));
        listenForNotifications();
    }

    /**
     * Connects the LISTEN connection as the beans' start-up does, and returns once both channels are
     * listened to, so that a test's notification cannot be sent before anyone listens.
     */
    private void listenForNotifications() {
        AtomicBoolean keysSubscribed = new AtomicBoolean();
        keys.onRevocation(hash -> keysSubscribed.compareAndSet(false, hash.equals("*")));
        ChangeLog.Change probe = new ChangeLog.Change("probe", UUID.randomUUID().toString(), 1);
        AtomicBoolean probeArrived = new AtomicBoolean();
        changes.onAnnouncement(change -> probeArrived.compareAndSet(false, change.equals(probe)), () -> {});
        listener.connect();
        changes.listen();
        keys.listen();
        Awaitility.await("the revocation channel is listened to").atMost(WAIT).untilTrue(keysSubscribed);
        // the change channel tells nothing when subscribed: announce until an announcement comes back
        Awaitility.await("announcements arrive")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    await(changes.announce(probe));
                    return probeArrived.get();
                });
    }

    /** Statements of the tests themselves (inspection, back-dating), outside the adapter and its guards. */
    RowSet<Row> sql(String statement, Object... args) {
        return await(pool.preparedQuery(statement).execute(Tuple.from(args)));
    }

    static <T> T await(Uni<T> uni) {
        return uni.await().atMost(WAIT);
    }

    /** The failure of {@code uni} as it arrives (checked exceptions included), or an assertion error if it succeeds. */
    static Throwable failureOf(Uni<?> uni) {
        Object outcome = uni.map(item -> (Object) new Succeeded(item))
                .onFailure()
                .recoverWithItem(failure -> failure)
                .await()
                .atMost(WAIT);
        if (outcome instanceof Succeeded succeeded) {
            throw new AssertionError("expected a failure, got " + succeeded.item());
        }
        return (Throwable) outcome;
    }

    private record Succeeded(Object item) {}

    /** A collection no other test writes to. */
    static String freshCollection() {
        return "c-" + UUID.randomUUID();
    }

    static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A JSON string document of exactly {@code size} bytes. */
    static byte[] bodyOf(int size) {
        return json("\"" + "x".repeat(size - 2) + "\"");
    }
}
