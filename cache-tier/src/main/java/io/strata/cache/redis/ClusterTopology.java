package io.strata.cache.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * Which Redis Cluster master serves which hash slot, so that commands go straight to the master of
 * their slot and a batch sends one pipeline per node. A stale map costs a redirect and a retry (a node
 * answers MOVED or ASK for a slot it does not serve, and {@link RedisNodes} then reloads the map and
 * sends through the cluster client, which follows redirects), never a wrong answer.
 */
public final class ClusterTopology {

    private static final int SLOTS = 16384;

    private final Redis redis;
    private final long refreshNanos;
    private volatile String[] owners;
    private volatile java.util.Map<String, Integer> replicas = java.util.Map.of();
    private volatile long loadedAt;
    private final java.util.concurrent.atomic.AtomicBoolean refreshing =
            new java.util.concurrent.atomic.AtomicBoolean();

    private final io.vertx.core.Vertx vertx;

    public ClusterTopology(Redis redis, io.vertx.core.Vertx vertx, java.time.Duration refreshInterval) {
        this.redis = redis;
        this.vertx = vertx;
        this.refreshNanos = refreshInterval.toNanos();
    }

    /** Groups positions of {@code keys} by the node that serves them. */
    public Uni<List<List<Integer>>> groupByNode(List<String> keys) {
        return owners().map(map -> {
            Map<String, List<Integer>> groups = new LinkedHashMap<>();
            for (int i = 0; i < keys.size(); i++) {
                String owner = map[slot(keys.get(i))];
                groups.computeIfAbsent(owner == null ? "?" : owner, k -> new ArrayList<>())
                        .add(i);
            }
            return new ArrayList<>(groups.values());
        });
    }

    /**
     * The master serving {@code key} by the slot map as last loaded, without waiting ({@code "cluster"}
     * before the first load). Reloads the map in the background when it is due.
     */
    public String ownerNow(String key) {
        String[] current = owners;
        if ((current == null || System.nanoTime() - loadedAt >= refreshNanos)
                && refreshing.compareAndSet(false, true)) {
            reloadInBackground();
        }
        String owner = current == null ? null : current[slot(key)];
        return owner == null ? "cluster" : owner;
    }

    /**
     * Reloads the map on a context of its own: the reload is nobody's request, so its commands must not
     * be traced as a child of the request that happened to find the map due (a request's trace context
     * lives in its duplicated Vert.x context's locals, which a new duplicated context does not share).
     */
    private void reloadInBackground() {
        io.vertx.core.Context current = io.vertx.core.Vertx.currentContext();
        io.vertx.core.Context own =
                current == null ? vertx.getOrCreateContext() : VertxContext.createNewDuplicatedContext(current);
        own.runOnContext(
                start -> owners().subscribe().with(ignored -> refreshing.set(false), failure -> refreshing.set(false)));
    }

    /** The masters in the slot map as last loaded. */
    public java.util.Set<String> masters() {
        String[] current = owners;
        return current == null
                ? java.util.Set.of()
                : java.util.Arrays.stream(current)
                        .filter(java.util.Objects::nonNull)
                        .collect(java.util.stream.Collectors.toSet());
    }

    /** Loads the slot map now; answers the masters in it. */
    public Uni<java.util.Set<String>> load() {
        return owners().map(map -> java.util.Arrays.stream(map)
                .filter(java.util.Objects::nonNull)
                .collect(java.util.stream.Collectors.toSet()));
    }

    /** How many replicas {@code master} has by the slot map as last loaded (0 when unknown). */
    public int replicasOf(String master) {
        return replicas.getOrDefault(master, 0);
    }

    /** Forgets the slot map, so the next batch reloads it. */
    public void invalidate() {
        owners = null;
    }

    private Uni<String[]> owners() {
        String[] current = owners;
        if (current != null && System.nanoTime() - loadedAt < refreshNanos) {
            return Uni.createFrom().item(current);
        }
        return redis.send(Request.cmd(Command.CLUSTER).arg("SLOTS")).map(response -> {
            String[] map = new String[SLOTS];
            java.util.Map<String, Integer> replicaCounts = new java.util.HashMap<>();
            for (Response range : response) {
                int from = range.get(0).toInteger();
                int to = range.get(1).toInteger();
                Response master = range.get(2);
                String endpoint = master.get(0).toString() + ":" + master.get(1).toInteger();
                replicaCounts.put(endpoint, range.size() - 3);
                for (int slot = from; slot <= to; slot++) {
                    map[slot] = endpoint;
                }
            }
            replicas = java.util.Map.copyOf(replicaCounts);
            owners = map;
            loadedAt = System.nanoTime();
            return map;
        });
    }

    /** The Redis Cluster hash slot of a key: CRC16 (XMODEM) of its hash tag, or of the whole key. */
    public static int slot(String key) {
        byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
        int start = 0;
        int end = bytes.length;
        for (int open = 0; open < bytes.length; open++) {
            if (bytes[open] == '{') {
                for (int close = open + 1; close < bytes.length; close++) {
                    if (bytes[close] == '}') {
                        if (close > open + 1) {
                            start = open + 1;
                            end = close;
                        }
                        break;
                    }
                }
                break;
            }
        }
        return crc16(bytes, start, end) & (SLOTS - 1);
    }

    private static int crc16(byte[] bytes, int from, int to) {
        int crc = 0;
        for (int i = from; i < to; i++) {
            crc ^= (bytes[i] & 0xff) << 8;
            for (int bit = 0; bit < 8; bit++) {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            }
        }
        return crc & 0xffff;
    }
}
