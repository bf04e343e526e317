package io.strata.storage.pg;

import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.util.TypeLiteral;

import org.eclipse.microprofile.faulttolerance.exceptions.BulkheadException;
import org.eclipse.microprofile.faulttolerance.exceptions.FaultToleranceException;
import org.jboss.logging.Logger;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.netty.channel.unix.Errors.NativeIoException;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.Guard;
import io.smallrye.mutiny.Uni;
import io.strata.storage.StorageException;
import io.strata.storage.StorageStatus;
import io.strata.storage.StorageUnavailableException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.EncodeException;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;

/**
 * The fault-tolerance guards around every PostgreSQL call: a timeout, a bulkhead that sheds load
 * beyond the pool instead of queueing without bound, and one circuit breaker, so that while
 * PostgreSQL is down calls fail at once instead of waiting for a connect timeout. Reads also retry
 * once after a connection failure. Failures of these kinds leave as {@link StorageUnavailableException}.
 */
@ApplicationScoped
public class StorageGuards implements StorageStatus {

    private static final Logger LOG = Logger.getLogger(StorageGuards.class);
    private static final TypeLiteral<Uni<Object>> UNI = new TypeLiteral<>() {};

    private final Guard guard;
    private final Guard readRetry;
    private final java.time.Duration timeout;
    /** Schedules timeouts; a pause of this process delays it too, which is how a stall is told apart. */
    private final java.util.concurrent.ScheduledExecutorService timer;

    private volatile CircuitBreakerState state = CircuitBreakerState.CLOSED;

    @jakarta.inject.Inject
    public StorageGuards(StorageConfig config, MeterRegistry registry) {
        this(
                config,
                registry,
                java.util.concurrent.Executors.newSingleThreadScheduledExecutor(runnable -> {
                    Thread thread = new Thread(runnable, "strata-storage-timeouts");
                    thread.setDaemon(true);
                    return thread;
                }),
                "strata-postgresql");
    }

    /**
     * With the scheduler of its timeouts given (tests stall it as a pause of the process would), and the
     * name of its breaker (unique in the process).
     */
    StorageGuards(
            StorageConfig config,
            MeterRegistry registry,
            java.util.concurrent.ScheduledExecutorService timer,
            String name) {
        this.timer = timer;
        this.timeout = config.timeout();
        registry.gauge(
                "strata.circuit_breaker.state",
                Tags.of("breaker", "postgresql"),
                this,
                guards -> switch (guards.state) {
                    case CLOSED -> 0;
                    case OPEN -> 1;
                    case HALF_OPEN -> 2;
                });
        // One breaker and one bulkhead for all of PostgreSQL: reads and writes share its pool.
        this.guard = guard(config, name);
        this.readRetry = Guard.create()
                .withDescription("strata-postgresql-read-retry")
                .withRetry()
                .maxRetries(config.readRetries())
                .delay(20, ChronoUnit.MILLIS)
                .whenException(StorageGuards::isConnectionFailure)
                .done()
                .build();
    }

    private Guard guard(StorageConfig config, String name) {
        return Guard.create()
                .withDescription(name)
                .withBulkhead()
                .limit(config.bulkhead().limit())
                .queueSize(config.bulkhead().queue())
                .done()
                .withCircuitBreaker()
                .name(name)
                .requestVolumeThreshold(config.breaker().requestVolume())
                .failureRatio(config.breaker().failureRatio())
                .delay(config.breaker().delay().toMillis(), ChronoUnit.MILLIS)
                .successThreshold(config.breaker().successThreshold())
                // a full bulkhead is our own overload, not PostgreSQL failing: it must not open the breaker
                .when(failure -> isUnavailable(failure) && !(failure instanceof BulkheadException))
                .onStateChange(this::stateChanged)
                .done()
                .build();
    }

    private void stateChanged(CircuitBreakerState next) {
        state = next;
        LOG.warnf("PostgreSQL circuit breaker is now %s", next);
    }

    @Override
    public String breakerState() {
        return state.name();
    }

    /** A read: guarded, and retried after a connection failure. */
    public <T> Uni<T> read(Supplier<Uni<T>> call) {
        return run(readRetry, () -> run(guard, () -> timed(call)));
    }

    /** How long one call may take ({@code strata.storage.timeout}). */
    java.time.Duration timeout() {
        return timeout;
    }

    /** A write: guarded, never retried (its outcome is unknown after a failure). */
    public <T> Uni<T> write(Supplier<Uni<T>> call) {
        return run(guard, () -> timed(call));
    }

    /**
     * {@code call} under {@code strata.storage.timeout}, measured from when the bulkhead admits it. A
     * timer that fires more than half the timeout late measured a pause of this process (GC, CPU), not
     * PostgreSQL: the call gets one more timeout instead of failing, so a pause of a few seconds is
     * not taken for a storage outage (the answer is usually waiting in the socket already).
     */
    <T> Uni<T> timed(Supplier<Uni<T>> call) {
        return Uni.createFrom().emitter(emitter -> {
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            long timeoutNanos = timeout.toNanos();
            io.smallrye.mutiny.subscription.Cancellable[] running = new io.smallrye.mutiny.subscription.Cancellable[1];
            Runnable expire = new Runnable() {
                long deadline = System.nanoTime() + timeoutNanos;
                boolean extended;

                @Override
                public void run() {
                    if (!extended && System.nanoTime() - deadline > timeoutNanos / 2) {
                        extended = true;
                        deadline = System.nanoTime() + timeoutNanos;
                        timer.schedule(this, timeoutNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
                        return;
                    }
                    if (done.compareAndSet(false, true)) {
                        if (running[0] != null) {
                            running[0].cancel();
                        }
                        emitter.fail(new org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException(
                                "no answer from PostgreSQL within " + timeout.toMillis() + " ms"));
                    }
                }
            };
            java.util.concurrent.ScheduledFuture<?> expiry =
                    timer.schedule(expire, timeoutNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
            running[0] = call.get()
                    .subscribe()
                    .with(
                            item -> {
                                if (done.compareAndSet(false, true)) {
                                    expiry.cancel(false);
                                    emitter.complete(item);
                                }
                            },
                            failure -> {
                                if (done.compareAndSet(false, true)) {
                                    expiry.cancel(false);
                                    emitter.fail(failure);
                                }
                            });
        });
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static <T> Uni<T> run(Guard guard, Supplier<Uni<T>> call) {
        Uni<Object> guarded = guard.get((Supplier) call, UNI);
        // a read's retry wraps a guarded call whose failure may already be classified
        return ((Uni<T>) guarded)
                .onFailure(failure -> !(failure instanceof StorageUnavailableException) && isUnavailable(failure))
                .transform(failure -> new StorageUnavailableException(
                        "storage unavailable: " + failure, failure, !neverAttempted(failure)));
    }

    /** Refused before reaching PostgreSQL: an open breaker, a full bulkhead, no connection to be had. */
    static boolean neverAttempted(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException
                    || t instanceof BulkheadException
                    || t instanceof java.net.ConnectException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a failure means "PostgreSQL cannot answer now": a connection that cannot be made or was
     * lost, a timeout, or a guard that refused the call (open breaker, full bulkhead). Anything else,
     * a refusal of storage or an application's own exception thrown inside a transaction (a JSON error
     * is an {@link java.io.IOException} too), is not, so it neither opens the breaker nor answers 503.
     */
    static boolean isUnavailable(Throwable failure) {
        if (failure instanceof StorageException) {
            return false;
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof FaultToleranceException
                    || t instanceof StorageUnavailableException
                    || isConnectionFailure(t)
                    || isTimeout(t)
                    || isServerUnavailable(t)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the connection to PostgreSQL could not be made or was lost: the failures worth a retry. */
    static boolean isConnectionFailure(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            // SocketException covers refused, reset and unreachable (and ConnectException, Netty's
            // ConnectTimeoutException); NativeIoException is their form on Netty's native transport
            if (t instanceof SocketException
                    || t instanceof UnknownHostException
                    || t instanceof ClosedChannelException
                    || t instanceof NativeIoException
                    || t instanceof ClosedConnectionException
                    || isVertxConnectionFailure(t)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isTimeout(Throwable t) {
        return t instanceof TimeoutException || t instanceof SocketTimeoutException;
    }

    /**
     * PostgreSQL's own word that it cannot serve the connection: class 08 (connection exception),
     * 57P (shutting down, starting up, database dropped), 53300 (no connection slot left), and 57014
     * (query canceled), which is how a statement timeout ends a statement, and 55P03 (lock not available),
     * how a lock timeout ends a wait that ran past the caller's own timeout.
     */
    private static boolean isServerUnavailable(Throwable t) {
        if (!(t instanceof PgException pg) || pg.getSqlState() == null) {
            return false;
        }
        String state = pg.getSqlState();
        return state.startsWith("08")
                || state.startsWith("57P")
                || state.equals("53300")
                || state.equals("57014")
                || state.equals("55P03");
    }

    /**
     * The pool and the connection report a closed connection or a wait for one that timed out with a
     * message only ({@code NoStackTraceThrowable} or a plain {@code VertxException}); Vert.x's JSON
     * errors are VertxExceptions too and never count.
     */
    private static boolean isVertxConnectionFailure(Throwable t) {
        if (!t.getClass().getName().startsWith("io.vertx.")
                || t instanceof DecodeException
                || t instanceof EncodeException
                || t.getMessage() == null) {
            return false;
        }
        String message = t.getMessage().toLowerCase(Locale.ROOT);
        return message.equals("timeout")
                || message.contains("connection")
                        && (message.contains("closed")
                                || message.contains("not active")
                                || message.contains("timeout"));
    }
}
