package io.strata.cache.redis;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.mutiny.Uni;
import io.strata.cache.CacheConfig;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;

/**
 * The one way Strata talks to Redis Cluster: every command goes to the master that serves its key's
 * slot ({@link ClusterTopology}), over a few long-lived connections to that master alone on which
 * commands are pipelined, under that master's {@link MasterGuard}. The document cache and the rate
 * limiter share these connections and guards.
 *
 * <p>Why not the cluster client for every command: it takes a pooled connection to every master for
 * each command it sends, and a command waiting for a pooled connection would spend its timeout
 * queued in this process. Here a command is written to its socket at once, so its timeout measures
 * Redis.
 *
 * <p>Correctness does not depend on the slot map: a master that no longer serves a slot answers
 * {@code MOVED} or {@code ASK} (also inside a pipeline, where the reply reads {@code ERR [i] MOVED …}),
 * a node in a failover answers {@code TRYAGAIN} or {@code CLUSTERDOWN}; then the map is reloaded and the
 * command goes again through the cluster client, which follows redirects. Scripts go as
 * {@code EVALSHA} and, to a node that lacks them, once more as {@code EVAL}.
 *
 * <p>Longer than most classes: locating the node, sending, reading redirects and falling back to the
 * cluster client are one sequence, and it exists only here.
 */
@ApplicationScoped
public class RedisNodes {

    private static final Logger LOG = Logger.getLogger(RedisNodes.class);
    /** The pseudo-node of commands sent through the cluster client (before the slot map is known). */
    private static final String CLUSTER = "cluster";

    private final Redis cluster;
    private final Vertx vertx;
    private final RedisOptionsCapture options;
    private final CacheConfig.Redis config;
    private final MeterRegistry registry;
    private final ClusterTopology topology;
    private final Map<String, MasterNode> nodes = new ConcurrentHashMap<>();
    private final Map<String, CircuitBreakerState> states = new ConcurrentHashMap<>();

    public RedisNodes(
            Redis cluster, Vertx vertx, RedisOptionsCapture options, CacheConfig config, MeterRegistry registry) {
        this.cluster = cluster;
        this.vertx = vertx;
        this.options = options;
        this.config = config.redis();
        this.registry = registry;
        this.topology = new ClusterTopology(cluster, vertx.getDelegate(), config.topologyRefreshInterval());
    }

    public ClusterTopology topology() {
        return topology;
    }

    /**
     * Loads the slot map and opens the connections to every master, so that the first requests do not
     * pay for it. Bounded: Redis being away only delays the start by the bound.
     */
    public void warm(Duration bound) {
        try {
            topology.load()
                    .flatMap(masters -> {
                        List<Uni<Response>> pings = masters.stream()
                                .map(node -> node(node)
                                        .send(Request.cmd(Command.PING))
                                        .onFailure()
                                        .recoverWithNull())
                                .toList();
                        return pings.isEmpty()
                                ? Uni.createFrom().voidItem()
                                : Uni.join().all(pings).andCollectFailures().replaceWithVoid();
                    })
                    .await()
                    .atMost(bound);
        } catch (RuntimeException e) {
            LOG.infof("Redis not reachable at start (%s); the cache is bypassed until it is", e.toString());
        }
    }

    /** One script call, to the master of its routing key. {@code operation} names it in metrics. */
    public <T> Uni<T> run(String operation, io.strata.cache.redis.Scripts.Call<T> call) {
        return run(operation, call, config.timeout());
    }

    /** One script call with its own timeout (repairs, which may wait longer than a read should). */
    public <T> Uni<T> run(String operation, io.strata.cache.redis.Scripts.Call<T> call, Duration timeout) {
        return send(call.routingKey(), operation, call::request, timeout).map(call.outcome());
    }

    /** One command, to the master of {@code key}. */
    public Uni<Response> send(String key, String operation, Request request) {
        return send(key, operation, withSource -> request, config.timeout());
    }

    private Uni<Response> send(
            String key, String operation, java.util.function.Function<Boolean, Request> request, Duration timeout) {
        MasterNode node = node(topology.ownerNow(key));
        return timed(
                operation,
                node.guard.call(
                        () -> node.send(request.apply(false))
                                .onFailure(Scripts.Script::isNoScript)
                                .recoverWithUni(() -> node.send(request.apply(true)))
                                .onFailure(RedisNodes::redirected)
                                .recoverWithUni(failure -> {
                                    topology.invalidate();
                                    return cluster.send(request.apply(true));
                                }),
                        timeout));
    }

    /**
     * A pipeline of commands to one master, on one connection (so that a {@code WAIT} among them counts
     * the writes before it). Every request's keys must belong to that master.
     */
    public Uni<List<Response>> batch(
            String routingKey, String operation, List<java.util.function.Function<Boolean, Request>> requests) {
        return batch(routingKey, operation, requests, config.batchTimeout());
    }

    /** The same, with its own timeout. */
    public Uni<List<Response>> batch(
            String routingKey,
            String operation,
            List<java.util.function.Function<Boolean, Request>> requests,
            Duration timeout) {
        MasterNode node = node(topology.ownerNow(routingKey));
        return timed(operation, node.guard.call(() -> batchOn(node, requests, false), timeout));
    }

    /** Script calls grouped into one pipeline per master; {@code null} calls are skipped and answer {@code null}. */
    public <T> Uni<List<T>> pipeline(String operation, List<io.strata.cache.redis.Scripts.Call<T>> calls) {
        List<Integer> sent = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            if (calls.get(i) != null) {
                sent.add(i);
                keys.add(calls.get(i).routingKey());
            }
        }
        Object[] out = new Object[calls.size()];
        if (sent.isEmpty()) {
            return Uni.createFrom().item(castList(out));
        }
        return topology.groupByNode(keys).flatMap(groups -> {
            List<Uni<Void>> sends = new ArrayList<>(groups.size());
            for (List<Integer> group : groups) {
                List<Integer> indexes = group.stream().map(sent::get).toList();
                List<java.util.function.Function<Boolean, Request>> requests = indexes.stream()
                        .<java.util.function.Function<Boolean, Request>>map(i -> calls.get(i)::request)
                        .toList();
                sends.add(batch(calls.get(indexes.get(0)).routingKey(), operation, requests)
                        .invoke(responses -> {
                            for (int g = 0; g < indexes.size(); g++) {
                                int i = indexes.get(g);
                                out[i] = calls.get(i).outcome().apply(responses.get(g));
                            }
                        })
                        .replaceWithVoid());
            }
            return Uni.join().all(sends).andFailFast().map(ignored -> castList(out));
        });
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> castList(Object[] values) {
        return (List<T>) Arrays.asList(values);
    }

    private Uni<List<Response>> batchOn(
            MasterNode node, List<java.util.function.Function<Boolean, Request>> requests, boolean withSource) {
        List<Request> built = requests.stream().map(r -> r.apply(withSource)).toList();
        return node.batch(built).onFailure().recoverWithUni(failure -> {
            if (!withSource && Scripts.Script.isNoScript(failure)) {
                return batchOn(node, requests, true);
            }
            if (!redirected(failure)) {
                return Uni.createFrom().failure(failure);
            }
            // a slot moved (or a failover is under way): reload the map; each command follows its redirect
            topology.invalidate();
            List<Uni<Response>> singles =
                    requests.stream().map(r -> cluster.send(r.apply(true))).toList();
            return Uni.join().all(singles).andFailFast();
        });
    }

    /** A redirect or a cluster in transition, also as a pipeline reports it ({@code ERR [i] MOVED …}). */
    static boolean redirected(Throwable failure) {
        String message = failure.getMessage() == null ? "" : failure.getMessage();
        if (message.startsWith("ERR [")) {
            int close = message.indexOf(']');
            message = close < 0 ? message : message.substring(close + 1).trim();
        }
        return message.startsWith("MOVED")
                || message.startsWith("ASK")
                || message.startsWith("TRYAGAIN")
                || message.startsWith("CLUSTERDOWN");
    }

    private <T> Uni<T> timed(String operation, Uni<T> call) {
        return Uni.createFrom().deferred(() -> {
            Timer.Sample sample = Timer.start(registry);
            return call.onTermination()
                    .invoke((item, failure, cancelled) -> sample.stop(registry.timer(
                            "strata.redis.commands",
                            "operation",
                            operation,
                            "outcome",
                            failure == null && !cancelled ? "ok" : "failed")));
        });
    }

    /** The masters of the slot map as last loaded. */
    public Set<String> masters() {
        return topology.masters();
    }

    /** How many replicas the master serving {@code key} has, by the slot map as last loaded (0 when unknown). */
    public int replicasOf(String key) {
        return topology.replicasOf(topology.ownerNow(key));
    }

    /** Breaker state per current master (those whose breaker has left CLOSED at least once). */
    public Map<String, CircuitBreakerState> breakerStates() {
        Set<String> masters = topology.masters();
        Map<String, CircuitBreakerState> current = new TreeMap<>();
        states.forEach((node, state) -> {
            if (masters.contains(node)) {
                current.put(node, state);
            }
        });
        return current;
    }

    /** Whether a probe has found the master of {@code key} failing (its failures count for its breaker). */
    public boolean failing(String key) {
        MasterNode node = nodes.get(topology.ownerNow(key));
        return node != null && node.guard.failing();
    }

    @PreDestroy
    void close() {
        nodes.values().forEach(MasterNode::close);
        nodes.clear();
    }

    private MasterNode node(String address) {
        MasterNode existing = nodes.get(address);
        return existing != null ? existing : nodes.computeIfAbsent(address, this::newNode);
    }

    private MasterNode newNode(String address) {
        RedisOptions base = options.options();
        String endpoint = CLUSTER.equals(address) || base == null ? null : endpoint(base, address);
        Redis client = endpoint == null
                ? null
                : Redis.createClient(
                        vertx,
                        new RedisOptions(base)
                                .setType(RedisClientType.STANDALONE)
                                .setEndpoints(List.of(endpoint))
                                .setMaxPoolSize(config.connectionsPerNode() + 1)
                                .setMaxPoolWaiting(config.connectionsPerNode() + 1)
                                .setPoolName("strata-" + address));
        return new MasterNode(address, client, cluster, config, vertx.getDelegate(), registry, state -> {
            if (states.put(address, state) == null) {
                registry.gauge(
                        "strata.circuit_breaker.state",
                        Tags.of("breaker", "redis-" + address),
                        states,
                        all -> BreakerStates.value(all.get(address)));
            }
        });
    }

    /**
     * The URI of {@code node} ({@code host:port}) with the scheme and credentials of the configured
     * endpoints, or {@code null} when none is configured.
     */
    public static String endpoint(RedisOptions base, String node) {
        List<String> configured = base.getEndpoints();
        if (configured.isEmpty()) {
            return null;
        }
        try {
            URI template = new URI(configured.get(0));
            int colon = node.lastIndexOf(':');
            String userInfo = template.getUserInfo();
            // a user named in the hosts with its password given apart (quarkus.redis.password): carry both
            if (userInfo != null && userInfo.indexOf(':') < 0 && base.getPassword() != null) {
                userInfo = userInfo + ":" + base.getPassword();
            }
            return new URI(
                            template.getScheme(),
                            userInfo,
                            node.substring(0, colon),
                            Integer.parseInt(node.substring(colon + 1)),
                            null,
                            null,
                            null)
                    .toString();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
