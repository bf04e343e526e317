package io.strata.cache;

import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import jakarta.enterprise.util.TypeLiteral;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.Guard;
import io.smallrye.mutiny.Uni;

/**
 * A timeout, a bulkhead and a circuit breaker per Redis master. One master down opens its own
 * breaker only: documents on the other masters keep their cache. A failed or refused call is the
 * caller's cue to use storage instead; it never fails a request.
 */
final class RedisGuards {

    private static final Logger LOG = Logger.getLogger(RedisGuards.class);
    private static final TypeLiteral<Uni<Object>> UNI = new TypeLiteral<>() {
    };

    private final CacheConfig.Redis config;
    private final MeterRegistry registry;
    private final Map<String, Guard> single = new ConcurrentHashMap<>();
    private final Map<String, Guard> batch = new ConcurrentHashMap<>();
    private final Map<String, CircuitBreakerState> states = new ConcurrentHashMap<>();

    RedisGuards(CacheConfig.Redis config, MeterRegistry registry) {
        this.config = config;
        this.registry = registry;
    }

    /** One command (or script) to the master {@code node}; {@code operation} names it in metrics. */
    <T> Uni<T> call(String node, String operation, Supplier<Uni<T>> command) {
        return timed(operation, run(single.computeIfAbsent(node, n -> build(n, config.timeout().toMillis())), command));
    }

    /** A pipeline of commands to the master {@code node}. */
    <T> Uni<T> pipeline(String node, String operation, Supplier<Uni<T>> commands) {
        return timed(operation, run(batch.computeIfAbsent(node, n -> build(n + "-pipeline", config.batchTimeout().toMillis())),
                commands));
    }

    private <T> Uni<T> timed(String operation, Uni<T> call) {
        return Uni.createFrom().deferred(() -> {
            Timer.Sample sample = Timer.start(registry);
            return call.onTermination().invoke((item, failure, cancelled) -> sample.stop(registry.timer(
                    "strata.redis.commands", "operation", operation, "outcome", failure == null && !cancelled ? "ok" : "failed")));
        });
    }

    /** Breaker state per guarded node, for health and metrics. */
    Map<String, CircuitBreakerState> states() {
        return Map.copyOf(states);
    }

    private Guard build(String name, long timeoutMillis) {
        return Guard.create()
                .withDescription("strata-redis-" + name)
                .withTimeout().duration(timeoutMillis, ChronoUnit.MILLIS).done()
                .withBulkhead().limit(config.bulkheadLimit()).queueSize(config.bulkheadQueue()).done()
                .withCircuitBreaker()
                .requestVolumeThreshold(config.breakerRequestVolume())
                .failureRatio(config.breakerFailureRatio())
                .delay(config.breakerDelay().toMillis(), ChronoUnit.MILLIS)
                .successThreshold(config.breakerSuccessThreshold())
                .onStateChange(state -> {
                    if (states.put(name, state) == null) {
                        registry.gauge("strata.circuit_breaker.state", Tags.of("breaker", "redis-" + name), states,
                                all -> BreakerStates.value(all.get(name)));
                    }
                    LOG.warnf("Redis circuit breaker for %s is now %s", name, state);
                })
                .done()
                .build();
    }

    @SuppressWarnings({ "unchecked", "rawtypes" })
    private static <T> Uni<T> run(Guard guard, Supplier<Uni<T>> call) {
        return (Uni<T>) guard.get((Supplier) call, UNI);
    }
}
