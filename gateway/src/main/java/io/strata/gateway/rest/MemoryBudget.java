package io.strata.gateway.rest;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.strata.gateway.config.ApiConfig;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;

/**
 * The bytes this instance may hold at once for the requests that can take much memory: list pages,
 * batchGet answers and merge patches. Such a request reserves its bound before it reads anything,
 * keeps what it actually needs until its answer has been written, and gives the rest back at once; a
 * request that cannot get its reservation waits in line (without a thread), and past
 * {@code strata.api.memory-wait} is answered 503 with {@code Retry-After}. So however many clients ask
 * for large pages or patches at once, they share a fixed amount of memory instead of exhausting the heap.
 */
@Singleton
public class MemoryBudget {

    /**
     * Bytes held for one request, from reservation until its answer has been written. Giving back is
     * idempotent and safe from any thread: the end of the response and a failure may both do it.
     */
    public final class Reservation {
        private final AtomicLong held;

        private Reservation(long held) {
            this.held = new AtomicLong(held);
        }

        /** Keeps only {@code bytes} (what the answer turned out to need), giving the rest back. */
        public void shrinkTo(long bytes) {
            long keep = Math.max(0, bytes);
            long before = held.getAndAccumulate(keep, Math::min);
            give(before - Math.min(before, keep));
        }

        public void release() {
            give(held.getAndSet(0));
        }

        /**
         * Keeps {@code bytes} until the answer has been written to {@code routing}'s response, or its
         * connection closed, whichever comes first, then gives them back. A connection that closed before
         * this was called fires no handler: the bytes are given back at once.
         */
        public void holdUntilWritten(long bytes, RoutingContext routing) {
            shrinkTo(bytes);
            routing.addEndHandler(ended -> release());
            if (routing.response().closed()) {
                release();
            }
        }
    }

    private record Waiter(long bytes, CompletableFuture<Reservation> granted, AtomicBoolean done) {}

    private final long capacity;
    private final Duration maxWait;
    private final int maxWaiters;
    private final Deque<Waiter> waiters = new ArrayDeque<>();
    private final Counter refused;
    private final Vertx vertx;
    private long available;

    public MemoryBudget(ApiConfig config, MeterRegistry registry, Vertx vertx) {
        this.vertx = vertx;
        this.capacity = config.memoryBudget();
        this.available = capacity;
        this.maxWait = config.memoryWait();
        this.maxWaiters = 4096;
        registry.gauge("strata.memory_budget.available_bytes", this, memory -> memory.available());
        this.refused = registry.counter("strata.memory_budget.refused");
    }

    /**
     * Reserves {@code bytes} (at most the whole budget) if they are free now and nobody waits in line,
     * else answers null: for a request that already holds a reservation, which must never wait for
     * another (requests holding some and waiting for more could hold the whole budget between them).
     */
    public Reservation tryReserve(long bytes) {
        long wanted = Math.min(Math.max(bytes, 0), capacity);
        synchronized (this) {
            if (!waiters.isEmpty() || available < wanted) {
                return null;
            }
            available -= wanted;
        }
        return new Reservation(wanted);
    }

    /** Reserves {@code bytes} (at most the whole budget), waiting in line if they are not free now. */
    public Uni<Reservation> reserve(long bytes) {
        long wanted = Math.min(Math.max(bytes, 0), capacity);
        return Uni.createFrom().deferred(() -> {
            Waiter waiter = new Waiter(wanted, new CompletableFuture<>(), new AtomicBoolean());
            int outcome; // 0 granted, 1 queued, 2 line full
            synchronized (this) {
                if (waiters.isEmpty() && available >= wanted) {
                    available -= wanted;
                    outcome = 0;
                } else if (waiters.size() >= maxWaiters) {
                    outcome = 2;
                } else {
                    waiters.addLast(waiter);
                    outcome = 1;
                }
            }
            if (outcome == 0) {
                return Uni.createFrom().item(new Reservation(wanted));
            }
            if (outcome == 2) {
                return Uni.createFrom().failure(busy());
            }
            // exactly one of: granted by give(), timed out here, or left by a client that went away
            long timer = vertx.setTimer(maxWait.toMillis(), ignored -> {
                if (leave(waiter)) {
                    waiter.granted().completeExceptionally(busy());
                }
            });
            return Uni.createFrom()
                    .completionStage(waiter.granted())
                    .onTermination()
                    .invoke(() -> vertx.cancelTimer(timer))
                    .onCancellation()
                    .invoke(() -> {
                        if (!leave(waiter)) {
                            waiter.granted().thenAccept(Reservation::release);
                        }
                    });
        });
    }

    private boolean leave(Waiter waiter) {
        if (!waiter.done().compareAndSet(false, true)) {
            return false;
        }
        synchronized (this) {
            waiters.remove(waiter);
        }
        return true;
    }

    private Problem busy() {
        refused.increment();
        return new Problem(
                503, "busy", "Service busy", "too many large requests are being served; try again shortly", 1);
    }

    private void give(long bytes) {
        if (bytes <= 0) {
            return;
        }
        java.util.List<Waiter> granted = new java.util.ArrayList<>();
        synchronized (this) {
            available += bytes;
            while (!waiters.isEmpty() && available >= waiters.peekFirst().bytes()) {
                Waiter next = waiters.pollFirst();
                if (next.done().compareAndSet(false, true)) {
                    available -= next.bytes();
                    granted.add(next);
                }
            }
        }
        for (Waiter waiter : granted) {
            Reservation reservation = new Reservation(waiter.bytes());
            // a waiter whose request went away meanwhile had its future cancelled: the bytes come back
            if (!waiter.granted().complete(reservation)) {
                reservation.release();
            }
        }
    }

    synchronized long available() {
        return available;
    }
}
