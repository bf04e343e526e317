package io.strata.cache.redis;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

import jakarta.enterprise.util.TypeLiteral;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.Guard;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.vertx.core.Vertx;

/**
 * The guard of one Redis master: a timeout, a bulkhead and a circuit breaker (SmallRye Fault
 * Tolerance) that opens when <em>Redis</em> is failing, not when this process was busy.
 *
 * <h2>Telling "Redis is failing" from "this process was busy"</h2>
 * A pause of this process (a GC pause, CPU taken by other work) makes every call in flight overrun
 * its timeout at once, on a healthy Redis; counted as failures, those would open the breaker and send
 * the whole load to storage. So a failed call counts for the breaker only when it is <em>confirmed</em>:
 * <ul>
 * <li>a timeout whose timer itself ran late (by more than half the timeout) measured this process,
 * not Redis: the call gets one more timeout, and never counts for the breaker;</li>
 * <li>any other failure starts a probe ({@code PING} on a connection of its own, under the same
 * timeout) unless one is running; failures count only while the last probe failed. A healthy Redis
 * answers the probe, and the burst of failures a pause caused is forgotten; a Redis that is down or
 * hung fails it, and from then on failures count and the breaker opens within a few calls.</li>
 * </ul>
 * While a master is marked failing, the probe repeats every {@link #REPROBE}, so that the mark clears
 * as soon as Redis answers again. Replies that are Redis errors to the command itself (such as
 * {@code NOSCRIPT}) are answers, not failures. Every failed call, counted or not, sends its request to
 * storage; a call never fails a request.
 */
final class MasterGuard {

    private static final Logger LOG = Logger.getLogger(MasterGuard.class);
    private static final TypeLiteral<Uni<Object>> UNI = new TypeLiteral<>() {};
    static final Duration REPROBE = Duration.ofMillis(250);

    /** A failure of a call that counts for the breaker: a probe confirmed that Redis is failing. */
    static final class Confirmed extends RuntimeException {
        Confirmed(Throwable cause) {
            super("Redis is failing: " + cause, cause, false, false);
        }
    }

    /** A call that overran its timeout. */
    static final class Timeout extends RuntimeException {
        final boolean stalled;

        Timeout(long millis, boolean stalled) {
            super(
                    (stalled ? "this process stalled past a Redis call's timeout of " : "no Redis answer within ")
                            + millis + " ms",
                    null,
                    false,
                    false);
            this.stalled = stalled;
        }
    }

    private final String name;
    private final Vertx vertx;
    private final Guard guard;
    private final Supplier<Uni<Void>> probe;
    private final AtomicBoolean probing = new AtomicBoolean();
    private final Counter stalls;
    private final Counter unconfirmed;
    private final Counter confirmed;
    private final Counter openings;
    private volatile boolean failing;
    private volatile CircuitBreakerState state = CircuitBreakerState.CLOSED;

    /**
     * @param probe a {@code PING} of this master on a connection of its own (failing when Redis does not answer)
     */
    MasterGuard(
            String name,
            CacheConfig.Redis config,
            Vertx vertx,
            Supplier<Uni<Void>> probe,
            MeterRegistry registry,
            Consumer<CircuitBreakerState> onStateChange) {
        this.name = name;
        this.vertx = vertx;
        this.probe = probe;
        this.stalls = registry.counter("strata.redis.failures", "node", name, "kind", "stall");
        this.unconfirmed = registry.counter("strata.redis.failures", "node", name, "kind", "unconfirmed");
        this.confirmed = registry.counter("strata.redis.failures", "node", name, "kind", "confirmed");
        this.openings = registry.counter("strata.redis.breaker_openings", "node", name);
        this.guard = Guard.create()
                .withDescription("strata-redis-" + name)
                .withBulkhead()
                .limit(config.bulkheadLimit())
                .queueSize(config.bulkheadQueue())
                .done()
                .withCircuitBreaker()
                .requestVolumeThreshold(config.breakerRequestVolume())
                .failureRatio(config.breakerFailureRatio())
                .delay(config.breakerDelay().toMillis(), ChronoUnit.MILLIS)
                .successThreshold(config.breakerSuccessThreshold())
                .when(failure -> failure instanceof Confirmed)
                .onStateChange(next -> {
                    state = next;
                    if (next == CircuitBreakerState.OPEN) {
                        openings.increment();
                    }
                    LOG.warnf("Redis circuit breaker for %s is now %s", name, next);
                    onStateChange.accept(next);
                })
                .done()
                .build();
    }

    CircuitBreakerState state() {
        return state;
    }

    boolean failing() {
        return failing;
    }

    /** Runs {@code command} under the guard with {@code timeout}, measured from when the bulkhead admits it. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    <T> Uni<T> call(Supplier<Uni<T>> command, Duration timeout) {
        Supplier<Uni<T>> timed = () -> timed(command, timeout)
                .onFailure(MasterGuard::isAvailabilityFailure)
                .transform(this::classify);
        return (Uni<T>) guard.get((Supplier) timed, UNI);
    }

    /**
     * {@code command} under {@code timeout}. A timer that fires more than half the timeout late measured
     * a pause of this process: the call gets one more timeout (its answer is usually waiting in the
     * socket), and if that runs out too, its failure is a stall, which never counts for the breaker.
     */
    private <T> Uni<T> timed(Supplier<Uni<T>> command, Duration timeout) {
        return Uni.createFrom().emitter(emitter -> {
            long millis = timeout.toMillis();
            AtomicBoolean done = new AtomicBoolean();
            long[] timer = new long[1];
            io.vertx.core.Handler<Long> expire = new io.vertx.core.Handler<>() {
                long deadline = System.nanoTime() + timeout.toNanos();
                boolean stalled;

                @Override
                public void handle(Long fired) {
                    boolean late = System.nanoTime() - deadline > timeout.toNanos() / 2;
                    if (late && !stalled) {
                        stalled = true;
                        deadline = System.nanoTime() + timeout.toNanos();
                        timer[0] = vertx.setTimer(millis, this);
                        return;
                    }
                    if (done.compareAndSet(false, true)) {
                        emitter.fail(new Timeout(millis, stalled || late));
                    }
                }
            };
            timer[0] = vertx.setTimer(millis, expire);
            command.get()
                    .subscribe()
                    .with(
                            item -> {
                                if (done.compareAndSet(false, true)) {
                                    vertx.cancelTimer(timer[0]);
                                    emitter.complete(item);
                                }
                            },
                            failure -> {
                                if (done.compareAndSet(false, true)) {
                                    vertx.cancelTimer(timer[0]);
                                    emitter.fail(failure);
                                }
                            });
        });
    }

    /**
     * A Redis error reply to the command is an answer; anything else (no answer, no connection) may be
     * Redis failing. The client fails the commands in flight on a connection that closed with an error
     * of the same type, {@code CONNECTION_CLOSED}, which Redis never sends: that is no answer.
     */
    static boolean isAvailabilityFailure(Throwable failure) {
        if (failure instanceof io.vertx.redis.client.impl.types.ErrorType error) {
            String message = error.getMessage() == null ? "" : error.getMessage();
            return message.startsWith("CLUSTERDOWN")
                    || message.startsWith("TRYAGAIN")
                    || message.startsWith("LOADING")
                    || message.startsWith("MASTERDOWN")
                    || message.equals("CONNECTION_CLOSED");
        }
        return true;
    }

    private Throwable classify(Throwable failure) {
        if (failure instanceof Timeout timeout && timeout.stalled) {
            stalls.increment();
            return failure;
        }
        if (failing) {
            confirmed.increment();
            return new Confirmed(failure);
        }
        unconfirmed.increment();
        probe();
        return failure;
    }

    /** Asks Redis itself, once at a time; while it does not answer, asks again every {@link #REPROBE}. */
    private void probe() {
        if (!probing.compareAndSet(false, true)) {
            return;
        }
        probe.get()
                .subscribe()
                .with(
                        ok -> {
                            if (failing) {
                                LOG.infof("Redis master %s answers again", name);
                            }
                            failing = false;
                            probing.set(false);
                        },
                        failure -> {
                            if (failure instanceof Timeout timeout && timeout.stalled) {
                                probing.set(false);
                                return;
                            }
                            if (!failing) {
                                LOG.warnf(
                                        "Redis master %s does not answer (%s): its failures now count for its breaker",
                                        name, failure.toString());
                            }
                            failing = true;
                            vertx.setTimer(REPROBE.toMillis(), again -> {
                                probing.set(false);
                                probe();
                            });
                        });
    }

    /** Wraps a probe with this guard's timeout (and stall detection), outside the breaker. */
    <T> Uni<T> probeCall(Supplier<Uni<T>> command, Duration timeout) {
        return timed(command, timeout);
    }
}
