package io.strata.cache;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;

/**
 * Commands whose keys share one hash slot, sent straight to the master that serves the slot by
 * {@link ClusterTopology}'s map, over a connection pool of that master alone.
 *
 * <p>Why: the cluster client takes a pooled connection to every master for each command it sends
 * (its connection object spans the cluster), which costs a hit more than the Redis round trip
 * itself. A direct pool costs one acquisition.
 *
 * <p>Correctness does not depend on the map: a master that no longer serves the slot answers
 * {@code MOVED} or {@code ASK}, and a node that cannot be reached fails the send; either way the
 * command goes again through the cluster client, which follows redirects and reloads the slots, and
 * the map is reloaded too. Redis errors of the command itself (such as {@code NOSCRIPT}) are the
 * caller's.
 */
final class NodeClients {

    private final Redis cluster;
    private final Vertx vertx;
    private final Supplier<RedisOptions> options;
    private final ClusterTopology topology;
    private final Map<String, Redis> nodes = new ConcurrentHashMap<>();

    NodeClients(Redis cluster, Vertx vertx, Supplier<RedisOptions> options, ClusterTopology topology) {
        this.cluster = cluster;
        this.vertx = vertx;
        this.options = options;
        this.topology = topology;
    }

    /** One command to {@code node} (a {@code host:port} from the slot map, or {@code "cluster"}). */
    Uni<Response> send(String node, Request request) {
        Redis direct = client(node);
        if (direct == null) {
            return cluster.send(request);
        }
        return direct.send(request).onFailure(NodeClients::notServedThere).recoverWithUni(failure -> {
            topology.invalidate();
            return cluster.send(request);
        });
    }

    /** A pipeline on one connection to {@code node}; every request's keys must belong to that node. */
    Uni<List<Response>> batch(String node, List<Request> requests) {
        Redis direct = client(node);
        if (direct == null) {
            return cluster.batch(requests);
        }
        return direct.batch(requests).onFailure(NodeClients::notServedThere).recoverWithUni(failure -> {
            topology.invalidate();
            return cluster.batch(requests);
        });
    }

    /** Opens a connection to each of {@code masters}, so that the first requests do not pay for it. */
    Uni<Void> connect(java.util.Set<String> masters) {
        List<Uni<Response>> pings = masters.stream()
                .map(node -> send(node, Request.cmd(io.vertx.mutiny.redis.client.Command.PING)).onFailure().recoverWithNull())
                .toList();
        return pings.isEmpty() ? Uni.createFrom().voidItem() : Uni.join().all(pings).andCollectFailures().replaceWithVoid();
    }

    void close() {
        nodes.values().forEach(Redis::close);
        nodes.clear();
    }

    /** A redirect, or no answer from the node at all (as opposed to an error reply to the command). */
    private static boolean notServedThere(Throwable failure) {
        String message = failure.getMessage() == null ? "" : failure.getMessage();
        if (message.startsWith("MOVED") || message.startsWith("ASK") || message.startsWith("CLUSTERDOWN")
                || message.startsWith("TRYAGAIN")) {
            return true;
        }
        return !(failure instanceof io.vertx.redis.client.impl.types.ErrorType);
    }

    private Redis client(String node) {
        if ("cluster".equals(node)) {
            return null;
        }
        Redis existing = nodes.get(node);
        if (existing != null) {
            return existing;
        }
        RedisOptions base = options.get();
        String endpoint = base == null ? null : endpoint(base, node);
        if (endpoint == null) {
            return null;
        }
        return nodes.computeIfAbsent(node, n -> Redis.createClient(vertx, new RedisOptions(base)
                .setType(RedisClientType.STANDALONE).setEndpoints(List.of(endpoint)).setPoolName("strata-" + n)));
    }

    /**
     * The URI of {@code node} ({@code host:port}) with the scheme and credentials of the configured
     * endpoints, or {@code null} when none is configured.
     */
    static String endpoint(RedisOptions base, String node) {
        List<String> configured = base.getEndpoints();
        if (configured.isEmpty()) {
            return null;
        }
        try {
            URI template = new URI(configured.get(0));
            int colon = node.lastIndexOf(':');
            return new URI(template.getScheme(), template.getUserInfo(), node.substring(0, colon),
                    Integer.parseInt(node.substring(colon + 1)), null, null, null).toString();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
