package io.strata.storage.pg;

import static io.strata.storage.pg.RealPostgres.await;
import static io.strata.storage.pg.RealPostgres.failureOf;
import static io.strata.storage.pg.RealPostgres.freshCollection;
import static io.strata.storage.pg.RealPostgres.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ConcurrentLinkedQueue;

import org.awaitility.Awaitility;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.core.JsonParseException;

import io.smallrye.mutiny.Uni;
import io.strata.storage.Lookup;
import io.strata.storage.Precondition;
import io.strata.storage.StorageUnavailableException;
import io.vertx.pgclient.PgException;

/**
 * Which failures mean "storage is unavailable" (answered 503, counted by the circuit breaker): only
 * lost or refused connections and timeouts. An application's own failure inside a transaction is
 * neither, however many times it happens. The outage comes last: it stops PostgreSQL.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StorageFailuresTest {

    private final RealPostgres pg = RealPostgres.get();
    private final StorageGuards guards = pg.guards;
    private final int window = pg.config.breaker().requestVolume();

    @Test
    @Order(1)
    void anApplicationsExceptionInsideATransactionLeavesAsItIsAndNeverOpensTheBreaker() {
        for (int i = 0; i < 2 * window; i++) {
            // a JSON error is an IOException: it says nothing about PostgreSQL
            Throwable json = failureOf(guards.write(() -> pg.pool.withTransaction(conn -> conn.query("SELECT 1")
                    .execute()
                    .flatMap(rows ->
                            Uni.createFrom().failure(new JsonParseException(null, "Unexpected end-of-input"))))));
            assertInstanceOf(JsonParseException.class, json);

            Throwable sql = failureOf(guards.write(() ->
                    pg.pool.withTransaction(conn -> conn.query("SELECT 1 / 0").execute())));
            assertEquals("22012", assertInstanceOf(PgException.class, sql).getSqlState(), "division by zero");
        }
        assertEquals("CLOSED", guards.breakerState());
        assertInstanceOf(Lookup.class, await(pg.documents.read(freshCollection(), "any")));
    }

    @Test
    @Order(2)
    void aPauseOfThisProcessLongerThanTheTimeoutIsNotAStorageFailure() throws Exception {
        java.util.concurrent.ScheduledExecutorService timer =
                java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        StorageGuards paused = new StorageGuards(
                pg.config,
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
                timer,
                "strata-postgresql-paused");
        long timeoutMillis = pg.config.timeout().toMillis();
        try {
            java.util.concurrent.CompletableFuture<String> answer = new java.util.concurrent.CompletableFuture<>();
            java.util.concurrent.CompletableFuture<String> call =
                    paused.read(() -> Uni.createFrom().completionStage(answer)).subscribeAsCompletionStage();
            // the whole process stalls (as in a long GC pause): the timer's thread runs late like every other
            timer.submit(() -> {
                try {
                    Thread.sleep(timeoutMillis * 2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Thread.sleep(timeoutMillis * 2 + 200);
            // after the pause, PostgreSQL's answer (already there) is taken, not a timeout
            answer.complete("answered");
            assertEquals("answered", call.get(timeoutMillis * 2, java.util.concurrent.TimeUnit.MILLISECONDS));
            assertEquals("CLOSED", paused.breakerState());
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    @Order(2)
    void aStatementTimeoutIsUnavailable() {
        Throwable failure = failureOf(guards.write(() ->
                pg.pool.withTransaction(conn -> conn.query("SET LOCAL statement_timeout = '10ms'")
                        .execute()
                        .flatMap(ignored -> conn.query("SELECT pg_sleep(1)").execute()))));
        StorageUnavailableException unavailable = assertInstanceOf(StorageUnavailableException.class, failure);
        assertEquals(
                "57014",
                assertInstanceOf(PgException.class, unavailable.getCause()).getSqlState(),
                "query_canceled");
    }

    @Test
    @Order(3)
    void aCallLongerThanTheTimeoutIsUnavailable() {
        Throwable failure = failureOf(guards.read(() -> pg.pool
                .query("SELECT pg_sleep(" + (pg.config.timeout().toMillis() + 500) / 1000.0 + ")")
                .execute()));
        assertInstanceOf(
                TimeoutException.class,
                assertInstanceOf(StorageUnavailableException.class, failure).getCause());
    }

    @Test
    @Order(4)
    void postgresqlStoppedIsUnavailableOpensTheBreakerAndRecovers() {
        String collection = freshCollection();
        ConcurrentLinkedQueue<String> revocationSignals = new ConcurrentLinkedQueue<>();
        pg.keys.onRevocation(revocationSignals::add);

        pg.server.stopServer();
        try {
            assertInstanceOf(StorageUnavailableException.class, failureOf(pg.documents.read(collection, "doc")));
            for (int i = 0; i < window; i++) {
                assertInstanceOf(
                        StorageUnavailableException.class,
                        failureOf(pg.documents.put(collection, "doc", json("{}"), Precondition.NONE)));
            }
            assertEquals("OPEN", guards.breakerState());
            Throwable refused = failureOf(pg.documents.read(collection, "doc"));
            assertTrue(
                    causedBy(refused, CircuitBreakerOpenException.class),
                    "while open, calls fail without trying: " + refused);
        } finally {
            pg.server.startServer();
        }

        Awaitility.await("the breaker closes again")
                .atMost(RealPostgres.WAIT)
                .pollInterval(java.time.Duration.ofMillis(200))
                .ignoreException(StorageUnavailableException.class)
                .until(() -> await(pg.documents.read(collection, "doc")) != null
                        && guards.breakerState().equals("CLOSED"));
        await(pg.documents.put(collection, "doc", json("{}"), Precondition.NONE));
        Awaitility.await("the LISTEN connection is back and says what it may have missed")
                .atMost(RealPostgres.WAIT)
                .until(() -> revocationSignals.contains("*"));
    }

    private static boolean causedBy(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
