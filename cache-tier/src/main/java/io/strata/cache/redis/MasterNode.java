package io.strata.cache.redis;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.RedisConnection;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * One Redis master as Strata reaches it: a few long-lived connections on which commands are pipelined,
 * one more for the probe of its {@link MasterGuard}, and that guard. Without a client (no endpoint known
 * yet), commands go through the cluster client.
 */
final class MasterNode {
    final String address;
    final Redis client;
    private final Redis cluster;
    private final CacheConfig.Redis config;
    final Link[] links;
    final Link probe;
    final MasterGuard guard;
    final AtomicInteger next = new AtomicInteger();

    MasterNode(String address, Redis client, Redis cluster, CacheConfig.Redis config, io.vertx.core.Vertx vertx,
            MeterRegistry registry, java.util.function.Consumer<io.smallrye.faulttolerance.api.CircuitBreakerState> onStateChange) {
        this.address = address;
        this.client = client;
        this.cluster = cluster;
        this.config = config;
        this.links = new Link[Math.max(1, config.connectionsPerNode())];
        for (int i = 0; i < links.length; i++) {
            links[i] = new Link();
        }
        this.probe = new Link();
        this.guard = new MasterGuard(address, config, vertx, this::ping, registry, onStateChange);
    }

    Uni<Response> send(Request request) {
        if (client == null) {
            return cluster.send(request);
        }
        Link link = links[Math.floorMod(next.getAndIncrement(), links.length)];
        return link.connection().flatMap(connection -> connection.send(request));
    }

    Uni<List<Response>> batch(List<Request> requests) {
        if (client == null) {
            return cluster.batch(requests);
        }
        Link link = links[Math.floorMod(next.getAndIncrement(), links.length)];
        return link.connection().flatMap(connection -> connection.batch(requests));
    }

    Uni<Void> ping() {
        Request ping = Request.cmd(Command.PING);
        return guard.probeCall(() -> client == null ? cluster.send(ping) : probe.connection().flatMap(c -> c.send(ping)),
                config.timeout()).replaceWithVoid();
    }

    void close() {
        for (Link link : links) {
            link.close();
        }
        probe.close();
        if (client != null) {
            client.close();
        }
    }

    /** One long-lived connection, opened on first use and again after it was lost. */
    private final class Link {
        private volatile CompletableFuture<RedisConnection> current;

        Uni<RedisConnection> connection() {
            CompletableFuture<RedisConnection> held = current;
            if (held == null || held.isCompletedExceptionally()) {
                synchronized (this) {
                    if (current == held) {
                        current = open();
                    }
                    held = current;
                }
            }
            return Uni.createFrom().completionStage(held);
        }

        private CompletableFuture<RedisConnection> open() {
            CompletableFuture<RedisConnection> opening = new CompletableFuture<>();
            client.connect().subscribe().with(connection -> {
                connection.exceptionHandler(failure -> lost(opening, connection));
                connection.endHandler(() -> lost(opening, connection));
                opening.complete(connection);
            }, opening::completeExceptionally);
            return opening;
        }

        private void lost(CompletableFuture<RedisConnection> which, RedisConnection connection) {
            synchronized (this) {
                if (current == which) {
                    current = null;
                }
            }
            connection.closeAndForget();
        }

        void close() {
            CompletableFuture<RedisConnection> held = current;
            current = null;
            if (held != null) {
                held.thenAccept(connection -> {
                    try {
                        connection.closeAndForget();
                    } catch (RuntimeException e) {
                        // the client is shutting down with the application: nothing left to close
                    }
                });
            }
        }
    }
}
