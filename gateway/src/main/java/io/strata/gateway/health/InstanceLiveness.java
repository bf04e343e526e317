package io.strata.gateway.health;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;

/**
 * Liveness says whether this process can still serve, so that Kubernetes restarts it when it cannot:
 * DOWN when an event loop has not run a task for {@link #STUCK} (something blocks it, and every
 * request on it waits), or when the JVM spent more than {@link #GC_SHARE} of the last
 * {@link #WINDOW} collecting garbage (a heap so full that requests crawl, on the way to an
 * {@link OutOfMemoryError}; the process is started with {@code -XX:+ExitOnOutOfMemoryError}, so that
 * one never leaves it half-working). Shared services do not count here: an outage of Redis or
 * PostgreSQL must never restart every instance.
 */
@Liveness
@ApplicationScoped
public class InstanceLiveness implements HealthCheck {

    static final Duration STUCK = Duration.ofSeconds(10);
    static final Duration WINDOW = Duration.ofSeconds(30);
    static final double GC_SHARE = 0.5;
    private static final long TICK_MILLIS = 1000;

    private final Vertx vertx;
    private final List<AtomicLong> lastRun = new ArrayList<>();
    private final List<long[]> gcSamples = new ArrayList<>();
    private long timer = -1;

    public InstanceLiveness(Vertx vertx) {
        this.vertx = vertx;
    }

    @PostConstruct
    void start() {
        List<EventExecutor> loops = new ArrayList<>();
        vertx.nettyEventLoopGroup().forEach(loops::add);
        loops.forEach(loop -> lastRun.add(new AtomicLong(System.nanoTime())));
        // a periodic tick asks every event loop to note the time; a blocked loop stops noting it
        timer = vertx.setPeriodic(TICK_MILLIS, tick -> {
            for (int i = 0; i < loops.size(); i++) {
                AtomicLong noted = lastRun.get(i);
                loops.get(i).execute(() -> noted.set(System.nanoTime()));
            }
            sampleGc();
        });
    }

    @PreDestroy
    void stop() {
        vertx.cancelTimer(timer);
    }

    private synchronized void sampleGc() {
        long collecting = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            collecting += Math.max(0, gc.getCollectionTime());
        }
        gcSamples.add(new long[] {System.nanoTime(), collecting});
        long horizon = System.nanoTime() - WINDOW.toNanos();
        while (gcSamples.size() > 2 && gcSamples.get(1)[0] < horizon) {
            gcSamples.remove(0);
        }
    }

    /** The share of wall time spent in garbage collection over the samples kept (about {@link #WINDOW}). */
    synchronized double gcShare() {
        if (gcSamples.size() < 2) {
            return 0;
        }
        long[] first = gcSamples.get(0);
        long[] last = gcSamples.get(gcSamples.size() - 1);
        double wallMillis = (last[0] - first[0]) / 1e6;
        return wallMillis < WINDOW.toMillis() / 2 ? 0 : (last[1] - first[1]) / wallMillis;
    }

    @Override
    public HealthCheckResponse call() {
        long now = System.nanoTime();
        long stuckLoops = lastRun.stream()
                .filter(noted -> now - noted.get() > STUCK.toNanos())
                .count();
        double gc = gcShare();
        return HealthCheckResponse.named("strata-instance-live")
                .status(stuckLoops == 0 && gc <= GC_SHARE)
                .withData("blocked-event-loops", stuckLoops)
                .withData("gc-share", String.format("%.2f", gc))
                .build();
    }
}
