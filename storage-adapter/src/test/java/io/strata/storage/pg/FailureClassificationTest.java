package io.strata.storage.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;

import org.eclipse.microprofile.faulttolerance.exceptions.BulkheadException;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.core.JsonParseException;

import io.netty.channel.ConnectTimeoutException;
import io.strata.storage.StorageException;
import io.vertx.core.VertxException;
import io.vertx.core.json.DecodeException;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;

/**
 * The classification behind the 503 answer and the breaker: the failures each kind of client and
 * server error arrives as, and whether it means "PostgreSQL cannot answer now" (unavailable) and
 * "the connection failed" (worth retrying a read).
 */
class FailureClassificationTest {

    static Stream<Arguments> failures() {
        return Stream.of(
                // connection failures: unavailable, and a read may retry
                Arguments.of("connection refused", new ConnectException("Connection refused"), true, true),
                Arguments.of(
                        "connect timeout",
                        new ConnectTimeoutException("connection timed out: /127.0.0.1:5432"),
                        true,
                        true),
                Arguments.of("connection reset", new SocketException("Connection reset"), true, true),
                Arguments.of("no route", new NoRouteToHostException("No route to host"), true, true),
                Arguments.of("closed channel", new ClosedChannelException(), true, true),
                Arguments.of("connection lost", ClosedConnectionException.INSTANCE, true, true),
                Arguments.of(
                        "pending requests of a closed connection",
                        new VertxException("Pending requests failed to be sent due to connection has been closed."),
                        true,
                        true),
                Arguments.of(
                        "wrapped",
                        new CompletionException(new RuntimeException(new ConnectException("refused"))),
                        true,
                        true),
                // PostgreSQL refusing the connection or going away: unavailable
                Arguments.of("connection failure 08006", pg("08006"), true, false),
                Arguments.of("admin shutdown 57P01", pg("57P01"), true, false),
                Arguments.of("starting up 57P03", pg("57P03"), true, false),
                Arguments.of("too many connections 53300", pg("53300"), true, false),
                // timeouts and the guards' own refusals: unavailable, never retried
                Arguments.of("statement timeout 57014", pg("57014"), true, false),
                Arguments.of("lock timeout 55P03", pg("55P03"), true, false),
                Arguments.of("guard timeout", new TimeoutException(), true, false),
                Arguments.of("socket timeout", new SocketTimeoutException("Read timed out"), true, false),
                Arguments.of("open breaker", new CircuitBreakerOpenException(), true, false),
                Arguments.of("full bulkhead", new BulkheadException(), true, false),
                // everything else: the caller's or the data's problem, not PostgreSQL's availability
                Arguments.of("JSON parse error", new JsonParseException(null, "Unexpected end-of-input"), false, false),
                Arguments.of(
                        "wrapped I/O error", new UncheckedIOException(new IOException("malformed body")), false, false),
                Arguments.of(
                        "Vert.x JSON error",
                        new DecodeException("Failed to decode: connection closed by parser"),
                        false,
                        false),
                Arguments.of("division by zero 22012", pg("22012"), false, false),
                Arguments.of("unique violation 23505", pg("23505"), false, false),
                Arguments.of("serialization failure 40001", pg("40001"), false, false),
                Arguments.of("storage refusal", new StorageException.PreconditionFailed(), false, false),
                Arguments.of("bug", new IllegalStateException("unexpected"), false, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void classifies(String name, Throwable failure, boolean unavailable, boolean connectionFailure) {
        assertEquals(unavailable, StorageGuards.isUnavailable(failure), "unavailable");
        assertEquals(connectionFailure, StorageGuards.isConnectionFailure(failure), "connection failure");
    }

    private static PgException pg(String sqlState) {
        return new PgException("error " + sqlState, "ERROR", sqlState, null);
    }
}
