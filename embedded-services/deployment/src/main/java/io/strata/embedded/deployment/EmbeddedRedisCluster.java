package io.strata.embedded.deployment;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;

import io.quarkus.deployment.builditem.Startable;

/**
 * A real Redis Cluster of {@code masters} masters (each with {@code replicasPerMaster} replicas) on
 * free loopback ports. The server binary is {@code redis-server} from the PATH when present, else the
 * Linux binary shipped in the {@code com.github.codemonstur:embedded-redis} jar (Redis 6.2, which has
 * neither {@code --cluster-port} nor {@code CLUSTER ADDSLOTSRANGE}: ports stay below 55535 so that the
 * bus port, port + 10000, is valid, and slots are assigned with {@code CLUSTER ADDSLOTS}).
 *
 * <p>Longer than most classes because the fault suite drives the same processes it starts: killing
 * and restarting nodes, and waiting for the cluster to heal, live next to the start-up they undo.
 */
public final class EmbeddedRedisCluster implements Startable {

    private static final String BUNDLED_BINARY = "redis-server-6.2.6-v5-linux-amd64";
    private static final int SLOTS = 16384;
    private static final String HOST = "127.0.0.1";

    private final int masters;
    private final int replicasPerMaster;
    private final int nodeTimeoutMillis;
    private final List<Node> nodes = new ArrayList<>();
    private java.util.function.IntUnaryOperator announcedPort = port -> port;
    private String binary;
    private Path dir;

    /** One redis-server process. */
    public static final class Node {
        final int port;
        final boolean master;
        final Path dir;
        Process process;

        Node(int port, boolean master, Path dir) {
            this.port = port;
            this.master = master;
            this.dir = dir;
        }

        public int port() {
            return port;
        }

        public boolean startedAsMaster() {
            return master;
        }

        public long pid() {
            return process.pid();
        }

        public boolean alive() {
            return process != null && process.isAlive();
        }
    }

    public EmbeddedRedisCluster(int masters, int replicasPerMaster, int nodeTimeoutMillis) {
        if (masters < 3) {
            throw new IllegalArgumentException("a Redis Cluster needs at least 3 masters");
        }
        this.masters = masters;
        this.replicasPerMaster = replicasPerMaster;
        this.nodeTimeoutMillis = nodeTimeoutMillis;
    }

    /**
     * Makes each node announce another client port than its own (for a proxy in front of it, which
     * then carries all client traffic): {@code announce} maps a node's port to the announced one.
     * Call before {@link #start()}.
     */
    public EmbeddedRedisCluster announcing(java.util.function.IntUnaryOperator announce) {
        this.announcedPort = announce;
        return this;
    }

    @Override
    public synchronized void start() {
        if (!nodes.isEmpty()) {
            return;
        }
        binary = serverBinary();
        dir = LocalProcesses.workRoot().resolve("redis-" + UUID.randomUUID());
        int total = masters * (1 + replicasPerMaster);
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            ports.add(LocalPorts.free(10000));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::close, "strata-embedded-redis-stop"));
        form(ports);
    }

    /** Starts one server per port and assembles them into a cluster. */
    private void form(List<Integer> ports) {
        for (int i = 0; i < ports.size(); i++) {
            int port = ports.get(i);
            Node node = new Node(port, i < masters, dir.resolve(String.valueOf(port)));
            nodes.add(node);
            startProcess(binary, node);
        }
        for (Node node : nodes) {
            LocalProcesses.await(
                    "redis-server on port " + node.port, Duration.ofSeconds(20), () -> Resp.ping(HOST, node.port));
        }
        assignSlots();
        Node first = nodes.get(0);
        try (Resp resp = new Resp(HOST, first.port)) {
            for (Node node : nodes.subList(1, nodes.size())) {
                resp.call("CLUSTER", "MEET", HOST, String.valueOf(node.port));
            }
        }
        attachReplicas();
        LocalProcesses.await("Redis Cluster state ok", Duration.ofSeconds(30), this::clusterReady);
    }

    private void startProcess(String binary, Node node) {
        try {
            Files.createDirectories(node.dir);
            node.process = new ProcessBuilder(
                            binary,
                            "--port",
                            String.valueOf(node.port),
                            "--bind",
                            HOST,
                            "--cluster-enabled",
                            "yes",
                            "--cluster-config-file",
                            "nodes.conf",
                            "--cluster-node-timeout",
                            String.valueOf(nodeTimeoutMillis),
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                            "--dir",
                            node.dir.toString(),
                            "--protected-mode",
                            "no",
                            "--logfile",
                            node.dir.resolve("redis.log").toString(),
                            "--cluster-announce-ip",
                            HOST,
                            "--cluster-announce-port",
                            String.valueOf(announcedPort.applyAsInt(node.port)),
                            "--cluster-announce-bus-port",
                            String.valueOf(node.port + 10000))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void assignSlots() {
        for (int m = 0; m < masters; m++) {
            int from = m * SLOTS / masters;
            int to = (m + 1) * SLOTS / masters;
            List<String> command = new ArrayList<>(List.of("CLUSTER", "ADDSLOTS"));
            for (int slot = from; slot < to; slot++) {
                command.add(String.valueOf(slot));
            }
            try (Resp resp = new Resp(HOST, nodes.get(m).port)) {
                resp.call(command.toArray(String[]::new));
            }
        }
    }

    private void attachReplicas() {
        if (replicasPerMaster == 0) {
            return;
        }
        List<String> masterIds = new ArrayList<>();
        for (int m = 0; m < masters; m++) {
            try (Resp resp = new Resp(HOST, nodes.get(m).port)) {
                masterIds.add((String) resp.call("CLUSTER", "MYID"));
            }
        }
        for (int i = masters; i < nodes.size(); i++) {
            Node replica = nodes.get(i);
            String masterId = masterIds.get((i - masters) % masters);
            LocalProcesses.await("replica " + replica.port + " to learn its master", Duration.ofSeconds(20), () -> {
                try (Resp resp = new Resp(HOST, replica.port)) {
                    resp.call("CLUSTER", "REPLICATE", masterId);
                    return true;
                } catch (IllegalStateException e) {
                    return false;
                }
            });
        }
    }

    private boolean clusterReady() {
        for (Node node : nodes) {
            try (Resp resp = new Resp(HOST, node.port)) {
                String info = (String) resp.call("CLUSTER", "INFO");
                if (!info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:" + nodes.size())) {
                    return false;
                }
                if (!node.master) {
                    String replication = (String) resp.call("INFO", "replication");
                    if (!replication.contains("master_link_status:up")) {
                        return false;
                    }
                }
            } catch (RuntimeException e) {
                return false;
            }
        }
        return true;
    }

    private String serverBinary() {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String entry : path.split(":")) {
                Path candidate = Path.of(entry, "redis-server");
                if (Files.isExecutable(candidate)) {
                    return candidate.toString();
                }
            }
        }
        Path target = LocalProcesses.unpackOnce(
                BUNDLED_BINARY, LocalProcesses.workRoot().resolve(BUNDLED_BINARY), (archive, targetDir) -> {
                    Path binary = targetDir.resolve("redis-server");
                    Files.move(archive, binary);
                    Files.setPosixFilePermissions(binary, PosixFilePermissions.fromString("rwxr-xr-x"));
                });
        return target.resolve("redis-server").toString();
    }

    /** {@code redis://host:port} of every master, for {@code quarkus.redis.hosts}. */
    public String hosts() {
        return nodes.stream().map(n -> "redis://" + HOST + ":" + n.port).collect(Collectors.joining(","));
    }

    public List<Node> nodes() {
        return List.copyOf(nodes);
    }

    /** The master nodes now (after failovers, not necessarily those started as masters). */
    public List<Node> currentMasters() {
        List<Node> current = new ArrayList<>();
        for (Node node : nodes) {
            if (!node.alive()) {
                continue;
            }
            try (Resp resp = new Resp(HOST, node.port)) {
                String info = (String) resp.call("INFO", "replication");
                if (info.contains("role:master")) {
                    current.add(node);
                }
            } catch (RuntimeException e) {
                // not answering: not counted
            }
        }
        return current;
    }

    /** Waits until every live node reports {@code cluster_state:ok}. */
    public void awaitHealthy(Duration timeout) {
        LocalProcesses.await(
                "Redis Cluster state ok",
                timeout,
                () -> nodes.stream().filter(Node::alive).allMatch(node -> {
                    try (Resp resp = new Resp(HOST, node.port)) {
                        return ((String) resp.call("CLUSTER", "INFO")).contains("cluster_state:ok");
                    } catch (RuntimeException e) {
                        return false;
                    }
                }));
    }

    /** Starts a killed node again with its cluster state; it rejoins (a former master as a replica). */
    public synchronized void restart(Node node) {
        startProcess(binary, node);
        LocalProcesses.await(
                "redis-server on port " + node.port, Duration.ofSeconds(20), () -> Resp.ping(HOST, node.port));
    }

    /** Kills every node, then forms a new, empty cluster on the same ports (Redis lost everything). */
    public synchronized void restartEmpty() {
        List<Integer> ports = nodes.stream().map(n -> n.port).toList();
        for (Node node : nodes) {
            LocalProcesses.stop(node.process, Duration.ofSeconds(5));
            LocalProcesses.deleteRecursively(node.dir);
        }
        nodes.clear();
        form(ports);
    }

    /** Stops every node (SIGKILL) without starting them again. */
    public synchronized void killAll() {
        nodes.forEach(this::kill);
    }

    /** Kills one node at once (SIGKILL), as a crash would. */
    public void kill(Node node) {
        node.process.destroyForcibly();
        try {
            node.process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String getConnectionInfo() {
        return hosts();
    }

    @Override
    public String getContainerId() {
        return null;
    }

    @Override
    public synchronized void close() {
        for (Node node : nodes) {
            LocalProcesses.stop(node.process, Duration.ofSeconds(5));
        }
        nodes.clear();
        if (dir != null) {
            LocalProcesses.deleteRecursively(dir);
            dir = null;
        }
    }
}
