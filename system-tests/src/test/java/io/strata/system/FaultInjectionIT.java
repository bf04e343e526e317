package io.strata.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.ClassOrderer;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestClassOrder;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import io.strata.embedded.deployment.EmbeddedRedisCluster;
import io.strata.system.Scenario.Fault;
import io.strata.testing.Workload;

/**
 * Faults injected into real processes ({@link FaultLab}): two packaged gateways (three, or one more
 * cut off from Redis, where a scenario says so), a Redis Cluster of 3 masters with a replica each
 * behind proxies, and PostgreSQL. During each fault, concurrent readers and writers record a history
 * ({@link Scenario}); a scenario fails on any read older than a write acknowledged before it began, on
 * any acknowledged write missing from PostgreSQL, and on any error a client should never see. The
 * table of results is printed and written to {@code target/fault-injection.md}.
 *
 * <p>Scenarios tagged {@code edge} are the edges of the consistency promise (decision 0002 and 0003);
 * {@code -Dgroups=edge} runs only those.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestClassOrder(ClassOrderer.OrderAnnotation.class)
class FaultInjectionIT {

    private FaultLab lab;
    /** A gateway whose every Redis call times out (1 ms): its write-throughs fail while the others' succeed. */
    private GatewayProcess cutOff;

    @BeforeAll
    void start() throws Exception {
        lab = new FaultLab();
    }

    @AfterAll
    void stop() throws Exception {
        if (lab != null) {
            lab.close();
        }
    }

    private GatewayProcess cutOffWriter() throws Exception {
        if (cutOff == null) {
            cutOff = lab.startGateway("gateway-1ms", Map.of("STRATA_CACHE_REDIS_TIMEOUT", "1ms"));
        }
        return cutOff;
    }

    /**
     * The longest a write through a gateway cut off from Redis may take by the defaults before it is
     * acknowledged or answered 503: its write-through, a quick invalidation and the wait for another
     * instance's repair share one deadline (write-visibility-timeout, 2 s after the commit), then one
     * near-cache lease (2 s) for holders it cannot hear, after one Redis timeout to look them up:
     * about 4.5 s, and margin for this shared machine.
     */
    private static final Duration CUT_OFF_WRITE_BOUND = Duration.ofSeconds(10);

    private GatewayProcess gateway(int i) {
        return lab.gateways.get(i);
    }

    @Nested
    @Order(1)
    class Baseline {
        @Test
        void noFault() throws Exception {
            Workload workload = new Scenario(lab, "no fault (baseline)").run(Fault.NONE);
            assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
            assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
            assertEquals(0, workload.notVisible.get(), "a healthy cache acknowledges every write");
        }
    }

    /**
     * Strict reads from the near cache under leases, across three instances: one is paused (SIGSTOP,
     * as a long GC pause would) for 3 s, another loses its Redis subscription. Writes wait at most one
     * lease for the paused holder.
     */
    @Nested
    @Order(2)
    @Tag("edge")
    class NearCacheLeases {
        private static final double LEASE_SECONDS = 2.0;

        @Test
        void strictNearHitsStayFreshThroughAPauseAndALostSubscription() throws Exception {
            GatewayProcess third = lab.startGateway("gateway-2", Map.of());
            List<GatewayProcess> all = List.of(gateway(0), gateway(1), third);
            try {
                Map<GatewayProcess, Double> runOutsBefore = sum(all, "strata_cache_near_lease_run_outs_total");
                Map<GatewayProcess, Double> waitsBefore = sum(all, "strata_cache_near_write_wait_seconds_count");
                AtomicInteger subscriptionsKilled = new AtomicInteger();
                Map<String, String> figures = new ConcurrentHashMap<>();
                Workload workload = new Scenario(
                                lab,
                                "near-cache leases, 3 instances: one paused 3 s (SIGSTOP), one losing its subscription")
                        .writesTo(all.toArray(GatewayProcess[]::new))
                        .readsFrom(all.toArray(GatewayProcess[]::new))
                        .pinThreads()
                        .reads(Workload.Reads.STRICT)
                        .timing(Duration.ofSeconds(8), Duration.ofMillis(1500), Duration.ofSeconds(3))
                        .describe(w -> {
                            figures.putAll(nearWriteWaits(all, third));
                            return String.format(
                                    "strict reads from the near cache: %d of %d (%.0f %%); subscriptions killed: %d; %s",
                                    w.nearHits.get(),
                                    w.strictReads.get(),
                                    100.0 * w.nearHits.get() / Math.max(1, w.strictReads.get()),
                                    subscriptionsKilled.get(),
                                    figures.get("summary"));
                        })
                        .run(
                                new Fault() {
                                    public void inject() throws Exception {
                                        third.pause();
                                        Thread.sleep(300);
                                        subscriptionsKilled.set(killSubscription(gateway(1)));
                                    }

                                    public void heal() throws Exception {
                                        third.resume();
                                    }
                                },
                                all);
                Map<GatewayProcess, Double> runOutsAfter = sum(all, "strata_cache_near_lease_run_outs_total");
                double runOuts = all.stream()
                        .mapToDouble(g -> runOutsAfter.get(g) - runOutsBefore.get(g))
                        .sum();
                Map<GatewayProcess, Double> waitsAfter = sum(all, "strata_cache_near_write_wait_seconds_count");
                double waits = all.stream()
                        .mapToDouble(g -> waitsAfter.get(g) - waitsBefore.get(g))
                        .sum();
                assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
                assertEquals(1, subscriptionsKilled.get(), "the second gateway's subscription was found and killed");
                assertTrue(
                        workload.nearHits.get() > 0,
                        "strict reads were answered from the near cache: " + workload.nearHits.get());
                assertTrue(waits > 0, "writes waited for lease holders: " + waits);
                assertTrue(runOuts > 0, "some write waited for the paused holder's lease to run out: " + runOuts);
                // on the instances that kept running (the paused one's own writes were paused with it): one
                // lease, plus the snapshot's round trip and a timer firing late on this shared machine
                double maxWait = Double.parseDouble(figures.get("max"));
                assertTrue(maxWait <= LEASE_SECONDS + 0.5, "a write waited at most one lease (2 s): " + maxWait + " s");
            } finally {
                third.resume();
                third.close();
            }
        }

        private static Map<GatewayProcess, Double> sum(List<GatewayProcess> gateways, String metric) throws Exception {
            Map<GatewayProcess, Double> values = new HashMap<>();
            for (GatewayProcess gateway : gateways) {
                values.put(gateway, gateway.metric(metric, ""));
            }
            return values;
        }

        /**
         * p50 and p99 (over the last minutes) of each gateway's wait for lease holders, and the longest
         * wait on a gateway other than {@code paused}.
         */
        private static Map<String, String> nearWriteWaits(List<GatewayProcess> gateways, GatewayProcess paused) {
            List<String> parts = new ArrayList<>();
            double max = 0;
            try {
                for (GatewayProcess gateway : gateways) {
                    double p50 = gateway.metric("strata_cache_near_write_wait_seconds", "quantile=\"0.5\"") * 1000;
                    double p99 = gateway.metric("strata_cache_near_write_wait_seconds", "quantile=\"0.99\"") * 1000;
                    double longest = gateway.metric("strata_cache_near_write_wait_seconds_max", "");
                    max = gateway == paused ? max : Math.max(max, longest);
                    parts.add(String.format(
                            "%s%s %.1f / %.1f / %.0f",
                            gateway.name(), gateway == paused ? " (paused)" : "", p50, p99, longest * 1000));
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return Map.of(
                    "max",
                    String.valueOf(max),
                    "summary",
                    "write wait for lease holders p50 / p99 / max ms: " + String.join(", ", parts));
        }
    }

    /** Kills the Redis pub/sub connection of {@code gateway} (found through the proxies and the socket's owner); how many were killed. */
    private int killSubscription(GatewayProcess gateway) throws Exception {
        int killed = 0;
        for (EmbeddedRedisCluster.Node node : lab.redis.nodes()) {
            if (!node.alive()) {
                continue;
            }
            for (Map<String, String> client : RedisAdmin.clients(node.port(), "pubsub")) {
                int gatewayPort = lab.proxyOf(node).clientPort(RedisAdmin.clientPort(client));
                if (gatewayPort > 0 && Sockets.ownerOf(gatewayPort) == gateway.pid()) {
                    RedisAdmin.call(node.port(), "CLIENT", "KILL", "ID", client.get("id"));
                    killed++;
                }
            }
        }
        return killed;
    }

    @Nested
    @Order(3)
    class RedisLatency {
        @Test
        void timeoutsSendReadsToStorage() throws Exception {
            Workload workload = new Scenario(lab, "Redis +400 ms latency on every node (timeout 250 ms)")
                    .run(new Fault() {
                        public void inject() {
                            lab.proxies.values().forEach(p -> p.latency(Duration.ofMillis(400)));
                        }

                        public void heal() {
                            lab.proxies.values().forEach(p -> p.latency(Duration.ZERO));
                        }
                    });
            assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
            assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
        }
    }

    @Nested
    @Order(4)
    class RedisConnectionsCut {
        @Test
        void cutConnectionsAreReplaced() throws Exception {
            Workload workload = new Scenario(lab, "Redis connections cut every 250 ms").run(new Fault() {
                private volatile Thread cutter;

                public void inject() {
                    cutter = Thread.ofVirtual().start(() -> {
                        while (!Thread.currentThread().isInterrupted()) {
                            lab.proxies.values().forEach(TcpProxy::cutAll);
                            try {
                                Thread.sleep(250);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    });
                }

                public void heal() throws InterruptedException {
                    if (cutter != null) {
                        cutter.interrupt();
                        cutter.join();
                    }
                }
            });
            assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
            assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
        }
    }

    /**
     * One gateway is cut off from Redis (a 1 ms timeout, and its Redis traffic held at the proxies:
     * a GC pause, CPU queueing or a partition of that instance alone) and takes every write; two
     * healthy gateways take the reads. Its writes are acknowledged only once some instance removed the
     * old copy, else answered 503 committed-not-visible.
     */
    @Nested
    @Order(5)
    @Tag("edge")
    class WriterCutOffFromRedis {
        @Test
        void readsThroughHealthyGatewaysNeverRunBehindTheCutOffWriter() throws Exception {
            GatewayProcess writer = cutOffWriter();
            Workload workload = new Scenario(
                            lab,
                            "one writer cut off from Redis (1 ms timeout, its Redis traffic held), healthy readers")
                    .writesTo(writer)
                    .readsFrom(gateway(0), gateway(1))
                    .clientTimeout(CUT_OFF_WRITE_BOUND)
                    .timing(Duration.ofSeconds(8), Duration.ofMillis(500), Duration.ofMillis(6500))
                    .describe(FaultInjectionIT::acknowledgedVersusNotVisible)
                    .run(cutOff(writer), lab.gateways);
            assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
            assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
            assertTrue(
                    workload.acknowledgedWrites.count() + workload.notVisibleWrites.count() > 0,
                    "writes were answered");
        }
    }

    /** Holds every Redis connection of {@code gateway} at the proxies (a partition of that instance alone). */
    private Fault cutOff(GatewayProcess gateway) {
        return new Fault() {
            public void inject() throws Exception {
                lab.affectRedisOf(gateway, null);
            }

            public void heal() {
                lab.unaffectRedis();
            }
        };
    }

    private static String acknowledgedVersusNotVisible(Workload w) {
        return String.format(
                "writes acknowledged %d (p50 %.0f / p99 %.0f ms), committed-not-visible %d (p50 %.0f / p99 %.0f ms)",
                w.acknowledgedWrites.count(),
                w.acknowledgedWrites.percentileMillis(50),
                w.acknowledgedWrites.percentileMillis(99),
                w.notVisibleWrites.count(),
                w.notVisibleWrites.percentileMillis(50),
                w.notVisibleWrites.percentileMillis(99));
    }

    /**
     * The LISTEN connection of one reading gateway is cut again and again for 4 s (its backend
     * terminated in PostgreSQL), while the writer cut off from Redis writes: announcements it misses
     * must not let it serve what those writes replaced.
     */
    @Nested
    @Order(6)
    @Tag("edge")
    class ListenConnectionCut {
        @Test
        void missedAnnouncementsServeNothingOlder() throws Exception {
            GatewayProcess writer = cutOffWriter();
            AtomicInteger terminated = new AtomicInteger();
            Fault writerCutOff = cutOff(writer);
            // the other healthy gateway listens and repairs; every read goes through the one that cannot hear
            Workload workload = new Scenario(lab, "LISTEN of the reader cut for 4 s, writer cut off from Redis")
                    .writesTo(writer)
                    .readsFrom(gateway(0))
                    .clientTimeout(CUT_OFF_WRITE_BOUND)
                    .timing(Duration.ofSeconds(8), Duration.ofMillis(1500), Duration.ofSeconds(4))
                    .describe(w -> "LISTEN backend terminated " + terminated.get() + " times; "
                            + acknowledgedVersusNotVisible(w))
                    .run(
                            new Fault() {
                                private volatile Thread cutter;

                                public void inject() throws Exception {
                                    writerCutOff.inject();
                                    cutter = Thread.ofVirtual().start(() -> {
                                        while (!Thread.currentThread().isInterrupted()) {
                                            try {
                                                terminated.addAndGet(terminateListener(gateway(0)));
                                                Thread.sleep(100);
                                            } catch (InterruptedException e) {
                                                return;
                                            } catch (Exception e) {
                                                throw new IllegalStateException(e);
                                            }
                                        }
                                    });
                                }

                                public void heal() throws Exception {
                                    try {
                                        if (cutter != null) {
                                            cutter.interrupt();
                                            cutter.join();
                                        }
                                    } finally {
                                        writerCutOff.heal();
                                    }
                                }
                            },
                            lab.gateways);
            assertTrue(terminated.get() > 0, "the LISTEN connection was cut");
            assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
            assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
        }
    }

    /** Terminates the PostgreSQL backend of {@code gateway}'s LISTEN connection; how many were terminated. */
    private int terminateListener(GatewayProcess gateway) throws Exception {
        int terminated = 0;
        try (Connection connection = lab.database();
                var listeners = connection.prepareStatement(
                        "SELECT pid, client_port FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'");
                var terminate = connection.prepareStatement("SELECT pg_terminate_backend(?)");
                ResultSet rows = listeners.executeQuery()) {
            while (rows.next()) {
                if (Sockets.ownerOf(rows.getInt(2)) == gateway.pid()) {
                    terminate.setInt(1, rows.getInt(1));
                    terminate.execute();
                    terminated++;
                }
            }
        }
        return terminated;
    }

    @Nested
    @Order(7)
    class RedisMasterKilled {
        @Test
        void replicaIsPromoted() throws Exception {
            EmbeddedRedisCluster.Node[] victim = new EmbeddedRedisCluster.Node[1];
            try {
                Workload workload = new Scenario(lab, "kill -9 a Redis master (replica promoted)").run(new Fault() {
                    public void inject() {
                        victim[0] = lab.redis.currentMasters().get(0);
                        lab.redis.kill(victim[0]);
                    }

                    public void heal() {
                        lab.redis.awaitHealthy(Duration.ofSeconds(30));
                    }
                });
                assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
                assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
            } finally {
                rejoin(victim[0]);
            }
        }
    }

    /** Starts a killed node again (it rejoins as a replica) and waits until it replicates. */
    private void rejoin(EmbeddedRedisCluster.Node node) {
        if (node == null || node.alive()) {
            return;
        }
        lab.redis.restart(node);
        lab.redis.awaitHealthy(Duration.ofSeconds(30));
        Awaitility.await(node.port() + " replicates its master")
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .until(() -> {
                    Map<String, String> replication = RedisAdmin.info(node.port(), "replication");
                    return "master".equals(replication.get("role"))
                            || "up".equals(replication.get("master_link_status"));
                });
    }

    /**
     * A master's replica lags (its replication stream held at the proxy for 2.5 s while writes go on),
     * then the master is killed and the lagging replica promoted. Writes wait for a replica's
     * acknowledgement, so those the replica missed were not acknowledged.
     */
    @Nested
    @Order(8)
    @Tag("edge")
    class LaggingReplicaPromoted {
        @Test
        void aPromotedReplicaHoldsEveryAcknowledgedWrite() throws Exception {
            EmbeddedRedisCluster.Node[] master = new EmbeddedRedisCluster.Node[1];
            try {
                // many documents, so that some written while the replica lagged are not written again before it is
                // promoted
                Workload workload = new Scenario(
                                lab, "replica lagging 2.5 s, then its master killed and the replica promoted")
                        .keys(60)
                        .timing(Duration.ofSeconds(8), Duration.ofSeconds(1), Duration.ofMillis(500))
                        .describe(FaultInjectionIT::acknowledgedVersusNotVisible)
                        .run(new Fault() {
                            public void inject() throws Exception {
                                master[0] = lab.redis.currentMasters().get(0);
                                List<Map<String, String>> replicas = RedisAdmin.clients(master[0].port(), "replica");
                                assertEquals(1, replicas.size(), "the master has one replica: " + replicas);
                                lab.proxyOf(master[0]).hold(RedisAdmin.clientPort(replicas.get(0)));
                                Thread.sleep(2500);
                                lab.redis.kill(master[0]);
                            }

                            public void heal() {
                                try {
                                    lab.redis.awaitHealthy(Duration.ofSeconds(30));
                                } finally {
                                    if (master[0] != null) {
                                        lab.proxyOf(master[0]).cutHeld();
                                    }
                                }
                            }
                        });
                assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
                assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
            } finally {
                rejoin(master[0]);
            }
        }
    }

    /**
     * Redis as deployed keeps no persistence: a restarted node comes back empty, never older. The
     * chart says so, the nodes here run with the same settings, and a master restarted at once (before
     * any failover) under load serves nothing older than an acknowledged write.
     */
    @Nested
    @Order(9)
    @Tag("edge")
    class RedisRestartedAsDeployed {
        private static final Pattern SETTING = Pattern.compile("(?m)^\\s*(appendonly|save)\\s+(.*?)\\s*$");

        /** The persistence settings of the data tier chart's redis.conf. */
        private static Map<String, String> deployedPersistence() throws Exception {
            String chart = Files.readString(
                    Path.of(System.getProperty("strata.repo.dir", ".."), "deploy", "data", "templates", "redis.yaml"));
            Map<String, String> settings = new HashMap<>();
            Matcher m = SETTING.matcher(chart.substring(chart.indexOf("redis.conf: |")));
            while (m.find()) {
                assertFalse(settings.containsKey(m.group(1)), "one " + m.group(1) + " line in redis.conf");
                settings.put(m.group(1), m.group(2));
            }
            return settings;
        }

        @Test
        void theDeployedRedisKeepsNoPersistence() throws Exception {
            assertEquals(
                    Map.of("appendonly", "no", "save", "\"\""),
                    deployedPersistence(),
                    "deploy/data's redis.conf: no append-only file, no snapshots");
        }

        @Test
        void aMasterRestartedEmptyServesNothingOlder() throws Exception {
            Map<String, String> cameBack = new ConcurrentHashMap<>();
            EmbeddedRedisCluster.Node[] master = new EmbeddedRedisCluster.Node[1];
            try {
                Workload workload = new Scenario(
                                lab, "kill -9 a Redis master and restart it at once, no persistence (as deployed)")
                        .timing(Duration.ofSeconds(8), Duration.ofMillis(2000), Duration.ofSeconds(3))
                        .describe(w -> "came back as " + cameBack)
                        .run(new Fault() {
                            public void inject() {
                                master[0] = lab.redis.currentMasters().get(0);
                                int port = master[0].port();
                                assertEquals("no", configValue(port, "appendonly"), "as deployed: no append-only file");
                                assertEquals("", configValue(port, "save"), "as deployed: no snapshots");
                                lab.redis.kill(master[0]);
                                lab.redis.restart(master[0]);
                                cameBack.put(
                                        "role",
                                        RedisAdmin.info(port, "replication").get("role"));
                                cameBack.put(
                                        "keys at start",
                                        RedisAdmin.info(port, "keyspace").getOrDefault("db0", "none"));
                                cameBack.put(
                                        "loaded from disk",
                                        RedisAdmin.info(port, "persistence").get("rdb_last_load_keys_loaded"));
                            }

                            public void heal() {
                                lab.redis.awaitHealthy(Duration.ofSeconds(30));
                            }
                        });
                assertEquals("0", cameBack.get("loaded from disk"), "the restarted master loaded nothing: " + cameBack);
                assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
                assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
            } finally {
                rejoin(master[0]);
            }
        }

        private static String configValue(int port, String name) {
            return String.valueOf(((List<?>) RedisAdmin.call(port, "CONFIG", "GET", name)).get(1));
        }
    }

    /**
     * Redis under memory pressure evicts entries and fill tokens (volatile-lru, as deployed, with a
     * small maxmemory on every master; the near-cache lease state has no TTL and stays) while
     * large-ish documents are written, and one of the two
     * gateways reaches Redis 400 ms late (past its 250 ms timeout), so that its write-throughs arrive
     * after newer ones, when what would have stopped them may have been evicted.
     */
    @Nested
    @Order(10)
    @Tag("edge")
    class EntriesEvicted {
        @Test
        void evictionsServeNothingOlder() throws Exception {
            Map<Integer, Long> evictedBefore = new HashMap<>();
            List<EmbeddedRedisCluster.Node> masters = new ArrayList<>();
            long[] evicted = new long[1];
            Workload workload = new Scenario(
                            lab,
                            "maxmemory small, volatile-lru as deployed: entries and tokens evicted (16 KiB documents), "
                                    + "one gateway's Redis traffic 400 ms late")
                    .keys(64)
                    .documentBytes(16 * 1024)
                    .describe(w -> evicted[0] + " keys evicted; " + acknowledgedVersusNotVisible(w))
                    .run(new Fault() {
                        public void inject() throws Exception {
                            lab.affectRedisOf(gateway(1), Duration.ofMillis(400));
                            masters.addAll(lab.redis.currentMasters());
                            for (EmbeddedRedisCluster.Node node : masters) {
                                evictedBefore.put(
                                        node.port(),
                                        Long.parseLong(RedisAdmin.info(node.port(), "stats")
                                                .get("evicted_keys")));
                                Map<String, String> memory = RedisAdmin.info(node.port(), "memory");
                                long used = Long.parseLong(memory.get("used_memory"));
                                long dataset = Long.parseLong(memory.get("used_memory_dataset"));
                                RedisAdmin.call(node.port(), "CONFIG", "SET", "maxmemory-policy", "volatile-lru");
                                // room for half of what is cached now: every fill from then on evicts something
                                RedisAdmin.call(
                                        node.port(), "CONFIG", "SET", "maxmemory", String.valueOf(used - dataset / 2));
                            }
                        }

                        public void heal() {
                            lab.unaffectRedis();
                            for (EmbeddedRedisCluster.Node node : masters) {
                                RedisAdmin.call(node.port(), "CONFIG", "SET", "maxmemory", "0");
                                RedisAdmin.call(node.port(), "CONFIG", "SET", "maxmemory-policy", "noeviction");
                                evicted[0] += Long.parseLong(RedisAdmin.info(node.port(), "stats")
                                                .get("evicted_keys"))
                                        - evictedBefore.get(node.port());
                            }
                        }
                    });
            assertTrue(evicted[0] > 0, "keys were evicted: " + evicted[0]);
            assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
            assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
        }
    }

    @Nested
    @Order(11)
    class AllRedisDown {
        @Test
        void storageServesEverything() throws Exception {
            Workload workload = new Scenario(lab, "all Redis nodes down, back empty").run(new Fault() {
                public void inject() {
                    lab.redis.killAll();
                }

                public void heal() {
                    lab.redis.restartEmpty();
                }
            });
            assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
            assertEquals(0, workload.unavailable.get(), workload.unavailableSamples.toString());
        }
    }

    /**
     * PostgreSQL stops for 5 s: cached copies are served past their freshness when the client accepts
     * it (stale-if-error), uncached reads and writes get fast 503s, and everything recovers by itself.
     * The load goes to a gateway whose entries are fresh for 2 s only, so that the copies it serves
     * during the outage are past their freshness; the two others see the outage without load.
     */
    @Nested
    @Order(12)
    class PostgresDown {
        @Test
        void cachedCopiesAndFast503s() throws Exception {
            long[] coldReadMillis = new long[1];
            Map<String, String> clientChoices = new ConcurrentHashMap<>();
            HttpClient client = HttpClient.newHttpClient();
            try (GatewayProcess shortLived = lab.startGateway(
                    "gateway-2s-ttl", Map.of("STRATA_CACHE_TTL", "2s", "STRATA_CACHE_STALE_WHILE_REVALIDATE", "0s"))) {
                Workload workload = new Scenario(lab, "PostgreSQL stopped, then restarted")
                        .writesTo(shortLived)
                        .readsFrom(shortLived)
                        .describe(w -> w.staleServed.get() + " reads served past freshness (stale-if-error)")
                        .run(
                                new Fault() {
                                    public void inject() throws Exception {
                                        URI doc = shortLived.uri("/v1/fault-sie/docs/cached");
                                        assertEquals(
                                                201,
                                                client.send(
                                                                ApiKey.request(doc)
                                                                        .header("Content-Type", "application/json")
                                                                        .PUT(HttpRequest.BodyPublishers.ofString("{}"))
                                                                        .build(),
                                                                HttpResponse.BodyHandlers.discarding())
                                                        .statusCode());
                                        // the scenario is about a cached copy: a write-through that timed out under the
                                        // workload
                                        // leaves the document uncached until a read fills it, so read until it is a hit
                                        Awaitility.await("the document is cached before the outage")
                                                .atMost(Duration.ofSeconds(10))
                                                .pollInterval(Duration.ofMillis(50))
                                                .until(
                                                        () -> statusOf(client, doc, null),
                                                        status -> status.startsWith("200 strata; hit")
                                                                || status.startsWith("200 strata-near; hit"));
                                        lab.postgres.stopServer();
                                        Thread.sleep(2500); // past the copy's 2 s freshness
                                        // the client sets its own tolerance for stale copies, or refuses them
                                        clientChoices.put("default", statusOf(client, doc, null));
                                        clientChoices.put(
                                                "stale-if-error=0", statusOf(client, doc, "stale-if-error=0"));
                                        clientChoices.put(
                                                "stale-if-error=60", statusOf(client, doc, "stale-if-error=60"));
                                        clientChoices.put("no-cache", statusOf(client, doc, "no-cache"));
                                        // an uncached read gets a fast 503 while the storage breaker is open
                                        long start = System.nanoTime();
                                        HttpResponse<String> cold = client.send(
                                                ApiKey.request(shortLived.uri("/v1/fault-cold/docs/never-cached"))
                                                        .build(),
                                                HttpResponse.BodyHandlers.ofString());
                                        coldReadMillis[0] = (System.nanoTime() - start) / 1_000_000;
                                        assertEquals(503, cold.statusCode());
                                        assertTrue(cold.headers()
                                                .firstValue("Retry-After")
                                                .isPresent());
                                    }

                                    public void heal() {
                                        lab.postgres.startServer();
                                    }
                                },
                                List.of(shortLived));
                assertEquals(0, workload.errors.get(), workload.errorSamples.toString());
                assertTrue(
                        clientChoices
                                .get("default")
                                .matches(
                                        "200 strata; hit; ttl=-[0-9]+; detail=stale-if-error(, strata-near; fwd=miss)?"),
                        clientChoices.toString());
                assertTrue(clientChoices.get("stale-if-error=60").startsWith("200 "), clientChoices.toString());
                assertTrue(clientChoices.get("stale-if-error=0").startsWith("503"), clientChoices.toString());
                assertTrue(clientChoices.get("no-cache").startsWith("503"), clientChoices.toString());
                assertTrue(workload.unavailable.get() > 0, "writes answered 503 while PostgreSQL was down");
                assertTrue(workload.staleServed.get() > 0, "cached documents were served past freshness");
                assertTrue(coldReadMillis[0] < 1000, "a 503 comes fast: " + coldReadMillis[0] + " ms");
                assertTrue(
                        workload.p99Millis() < 2500,
                        "no request waited for a connect timeout: p99 " + workload.p99Millis());
                // recovery is automatic: writes succeed again, and every instance's breaker half-opens and
                // closes on the first reads
                Awaitility.await("writes succeed again after PostgreSQL returns")
                        .atMost(Duration.ofSeconds(20))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> client.send(
                                                ApiKey.request(gateway(1)
                                                                .uri("/v1/fault-after/docs/" + System.nanoTime()))
                                                        .header("Content-Type", "application/json")
                                                        .PUT(HttpRequest.BodyPublishers.ofString("{}"))
                                                        .build(),
                                                HttpResponse.BodyHandlers.discarding())
                                        .statusCode()
                                == 201);
                for (GatewayProcess gateway : List.of(gateway(0), gateway(1), shortLived)) {
                    Awaitility.await(gateway.name() + " answers reads again")
                            .atMost(Duration.ofSeconds(20))
                            .pollInterval(Duration.ofMillis(200))
                            .until(() -> client.send(
                                                    ApiKey.request(gateway.uri("/v1/fault-after/docs/never-written"))
                                                            .build(),
                                                    HttpResponse.BodyHandlers.discarding())
                                            .statusCode()
                                    == 404);
                }
            }
        }
    }

    private static String statusOf(HttpClient client, URI uri, String cacheControl) throws Exception {
        HttpRequest.Builder request = ApiKey.request(uri);
        if (cacheControl != null) {
            request.header("Cache-Control", cacheControl);
        }
        HttpResponse<Void> response = client.send(request.build(), HttpResponse.BodyHandlers.discarding());
        return response.statusCode() + " "
                + response.headers().firstValue("Cache-Status").orElse("");
    }

    /**
     * 1,000 concurrent GETs of one cold document over two gateways: one storage read when Redis
     * answers (one fill holds the lease, everyone else waits for its entry). When Redis cannot answer,
     * each instance shares one storage read of the document among every request that arrives while it
     * runs: the read holds the document's writes off until it stops taking requests, so a request that
     * arrived late in it still gets every write acknowledged before it arrived. One read per instance.
     */
    @Nested
    @Order(13)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    class StampedeOfOneColdKey {
        private static final int REQUESTS = 1000;
        /** The burst writes nothing: no write can be not visible and no read stale, so those cells stay empty. */
        private static final String NO_WRITES = "—";

        private static long unavailable(Stampede.Result result) {
            return result.statuses().getOrDefault(503, 0L);
        }

        private static long errors(Stampede.Result result) {
            return REQUESTS - result.statuses().getOrDefault(200, 0L) - unavailable(result);
        }

        private void insertCold(String collection) throws Exception {
            try (Connection connection = lab.database();
                    var insert = connection.prepareStatement(
                            "INSERT INTO documents (collection, id, version, body) "
                                    + "VALUES (?, 'cold', nextval('strata_version_seq'), convert_to('{\"cold\":true}', 'UTF8'))")) {
                insert.setString(1, collection);
                insert.executeUpdate();
            }
        }

        @Test
        @Order(1)
        void readsStorageOnce() throws Exception {
            lab.settle(lab.gateways);
            insertCold("stampede");
            Stampede.Result result = Stampede.run(lab.gateways, "/v1/stampede/docs/cold", REQUESTS);
            lab.row(
                    "1,000 concurrent GETs of one cold key over two gateways",
                    REQUESTS,
                    errors(result),
                    unavailable(result),
                    NO_WRITES,
                    NO_WRITES,
                    "",
                    "",
                    "storage reads: " + result.storageReads() + " (goal 1); Redis calls failed meanwhile: "
                            + result.redisFailures() + "; " + result.cacheStatuses());
            assertEquals(Map.of(200, (long) REQUESTS), result.statuses());
            if (result.redisFailures() == 0) {
                assertEquals(1, result.storageReads(), "storage reads for 1,000 concurrent misses: " + result);
            } else {
                // a Redis call that failed under the burst (a stall of this shared machine) sent its
                // request to storage: at most one more storage read for each
                assertTrue(result.storageReads() <= 1 + result.redisFailures(), "storage reads: " + result);
            }
        }

        @Test
        @Order(2)
        void readsStorageOncePerInstanceWhenRedisCannotAnswer() throws Exception {
            HttpClient client = HttpClient.newHttpClient();
            try {
                lab.proxies.values().forEach(proxy -> proxy.refuse(true));
                for (GatewayProcess gateway : lab.gateways) {
                    awaitOpenBreakers(client, gateway);
                }
                insertCold("stampede-no-redis");
                double bypassedBefore = bypasses();
                Stampede.Result result;
                try (Connection lock = lab.database()) {
                    // the storage read of each instance waits behind this lock until every request of the
                    // burst has arrived (and joined it), well within the storage timeout
                    lock.setAutoCommit(false);
                    lock.createStatement().execute("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE");
                    result = Stampede.run(lab.gateways, "/v1/stampede-no-redis/docs/cold", REQUESTS, () -> {
                        Awaitility.await("every request of the burst reached a gateway and bypassed Redis")
                                .atMost(Duration.ofMillis(1500))
                                .pollInterval(Duration.ofMillis(20))
                                .until(() -> bypasses() - bypassedBefore >= REQUESTS);
                        lock.commit();
                    });
                }
                lab.row(
                        "1,000 concurrent GETs of one cold key, Redis unreachable (breakers open), burst within one storage read",
                        REQUESTS,
                        errors(result),
                        unavailable(result),
                        NO_WRITES,
                        NO_WRITES,
                        "",
                        "",
                        "storage reads: " + result.storageReads() + " (goal ≤ " + lab.gateways.size()
                                + ": one per instance, shared by every request that arrived while it ran); "
                                + result.cacheStatuses());
                assertEquals(Map.of(200, (long) REQUESTS), result.statuses());
                assertTrue(
                        result.storageReads() >= 1 && result.storageReads() <= lab.gateways.size(),
                        "storage reads for 1,000 concurrent reads with Redis unreachable: " + result);
            } finally {
                lab.proxies.values().forEach(proxy -> proxy.refuse(false));
            }
            lab.settle(lab.gateways);
        }

        /** Sends reads until every Redis breaker of {@code gateway} is open. */
        private void awaitOpenBreakers(HttpClient client, GatewayProcess gateway) {
            AtomicReference<String> seen = new AtomicReference<>();
            try {
                Awaitility.await(gateway.name() + " opens its Redis breakers")
                        .atMost(Duration.ofSeconds(20))
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> {
                            for (int i = 0; i < 20; i++) {
                                client.send(
                                        ApiKey.request(gateway.uri("/v1/stampede-warm/docs/w" + i))
                                                .build(),
                                        HttpResponse.BodyHandlers.discarding());
                            }
                            String readiness = client.send(
                                            HttpRequest.newBuilder(gateway.management("/q/health/ready"))
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .body();
                            seen.set(readiness);
                            return Pattern.compile("\"redis-breaker-[^\"]+\"\\s*:\\s*\"OPEN\"")
                                            .matcher(readiness)
                                            .results()
                                            .count()
                                    == 3;
                        });
            } catch (ConditionTimeoutException e) {
                throw new AssertionError(
                        gateway.name() + " did not open its Redis breakers; last readiness " + seen.get(), e);
            }
        }

        private double bypasses() throws Exception {
            double sum = 0;
            for (GatewayProcess gateway : lab.gateways) {
                sum += gateway.metric("strata_cache_reads_total", "result=\"bypass\"");
            }
            return sum;
        }
    }

    /**
     * The gateways' own log lines (prod profile: JSON) carry every field the Fluent Bit configuration
     * in observability/logging parses or filters on, trace and span ids on lines written while
     * serving a request, and never a document body, a credential or an API key.
     */
    @Nested
    @Order(15)
    class Logs {
        @Test
        void logsCarryTheFieldsFluentBitUsesAndNoSecrets() throws Exception {
            String marker = "marker-" + java.util.UUID.randomUUID();
            HttpClient client = HttpClient.newHttpClient();
            for (GatewayProcess gateway : lab.gateways) {
                client.send(
                        ApiKey.request(gateway.uri("/v1/logs/docs/secret"))
                                .header("Content-Type", "application/json")
                                .setHeader("Authorization", "Bearer key-" + marker)
                                .PUT(HttpRequest.BodyPublishers.ofString("{\"body\":\"body-" + marker + "\"}"))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                client.send(
                        ApiKey.request(gateway.uri("/v1/logs/docs/bad"))
                                .header("Content-Type", "application/json")
                                .PUT(HttpRequest.BodyPublishers.ofString("{\"broken-" + marker))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
            }
            String config = Files.readString(Path.of(
                    System.getProperty("strata.repo.dir", ".."), "observability", "logging", "fluent-bit.yaml"));
            for (String field : List.of(
                    "Time_Key     timestamp",
                    "Rename  level",
                    "Rename  loggerName",
                    "Nested_under  mdc",
                    "Rename  mdc_traceId",
                    "Rename  mdc_spanId",
                    "Exclude  message")) {
                assertTrue(config.contains(field), "the Fluent Bit configuration uses " + field);
            }
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            Pattern time = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}[+-]\\d{4}");
            int lines = 0;
            int traced = 0;
            for (GatewayProcess gateway : lab.gateways) {
                for (String line : Files.readAllLines(gateway.log())) {
                    if (line.isBlank() || !line.startsWith("{")) {
                        continue; // the JVM's own warnings before logging starts
                    }
                    lines++;
                    var entry = json.readTree(line);
                    for (String field : List.of("timestamp", "level", "loggerName", "message")) {
                        assertTrue(entry.hasNonNull(field), "field " + field + " in " + line);
                    }
                    assertTrue(time.matcher(entry.get("timestamp").asText()).matches(), "timestamp format: " + line);
                    if (entry.path("mdc").hasNonNull("traceId")) {
                        assertTrue(entry.path("mdc").hasNonNull("spanId"), line);
                        traced++;
                    }
                    assertFalse(line.contains(marker), "no body, bad input or API key in a log line: " + line);
                    assertFalse(line.contains(lab.postgres.password()), "no database password in a log line");
                    assertFalse(line.contains(ApiKey.SECRET), "no valid API key in a log line");
                    assertFalse(line.contains("\\\"at\\\":"), "no workload document body in a log line: " + line);
                }
            }
            assertTrue(lines > 50, "the gateways logged JSON lines: " + lines);
            assertTrue(traced > 0, "lines written while serving a request carry trace and span ids");
            lab.note("Logs: " + lines + " JSON lines checked, " + traced
                    + " with trace ids; no body, credential or API key.");
        }
    }

    /**
     * Secrets from Vault: a gateway given no database password, pepper or admin key logs in to a
     * (local, Vault-speaking) server with its service account token through the Kubernetes auth
     * method, reads them from KV v2, migrates, serves, and accepts the admin key Vault holds.
     */
    @Nested
    @Order(16)
    class Vault {
        @Test
        void secretsComeFromVault() throws Exception {
            Path jwt = Files.createTempFile("strata-sa-token", "");
            String token = "eyJhbGciOiJSUzI1NiJ9." + java.util.UUID.randomUUID() + ".signature";
            Files.writeString(jwt, token);
            String adminKey =
                    "sk_vault_" + java.util.UUID.randomUUID().toString().replace("-", "");
            Map<String, String> secret = Map.of(
                    "quarkus.datasource.password",
                    lab.postgres.password(),
                    "strata.auth.pepper",
                    "pepper-from-vault-" + java.util.UUID.randomUUID(),
                    "strata.auth.bootstrap-admin-key",
                    adminKey);
            try (FakeVault vault = new FakeVault("strata", token, "strata", secret)) {
                Map<String, String> overrides = new HashMap<>();
                overrides.put("QUARKUS_DATASOURCE_PASSWORD", null);
                overrides.put("STRATA_AUTH_PEPPER", null);
                overrides.put("STRATA_AUTH_BOOTSTRAP_ADMIN_KEY", null);
                overrides.put("QUARKUS_VAULT_URL", vault.url());
                overrides.put("QUARKUS_VAULT_AUTHENTICATION_KUBERNETES_JWT_TOKEN_PATH", jwt.toString());
                try (GatewayProcess gateway = lab.startGateway("gateway-vault", overrides)) {
                    HttpClient client = HttpClient.newHttpClient();
                    URI doc = gateway.uri("/v1/vault/docs/d");
                    int put = client.send(
                                    HttpRequest.newBuilder(doc)
                                            .header("Authorization", "Bearer " + adminKey)
                                            .header("Content-Type", "application/json")
                                            .PUT(HttpRequest.BodyPublishers.ofString("{\"from\":\"vault\"}"))
                                            .build(),
                                    HttpResponse.BodyHandlers.discarding())
                            .statusCode();
                    assertEquals(
                            201,
                            put,
                            "the admin key from Vault works (the pepper and database password came from Vault too)");
                    int refused = client.send(
                                    HttpRequest.newBuilder(doc)
                                            .header("Authorization", "Bearer " + ApiKey.SECRET)
                                            .build(),
                                    HttpResponse.BodyHandlers.discarding())
                            .statusCode();
                    assertEquals(401, refused, "keys hashed with another pepper are not valid here");
                }
                assertTrue(
                        vault.calls.contains("POST /v1/auth/kubernetes/login"),
                        "Kubernetes auth login: " + vault.calls);
                assertTrue(vault.calls.contains("GET /v1/secret/data/strata"), "KV v2 read: " + vault.calls);
                lab.note(
                        "Vault: secrets read through Kubernetes auth and KV v2 from a local Vault-speaking server; calls "
                                + vault.calls + ".");
            } finally {
                Files.deleteIfExists(jwt);
            }
        }
    }
}
