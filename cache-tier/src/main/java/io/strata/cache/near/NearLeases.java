package io.strata.cache.near;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.strata.cache.redis.LeaseScripts;
import io.strata.cache.redis.RedisNodes;
import io.strata.cache.redis.Scripts;
import io.vertx.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;

/**
 * Leases that let every instance answer strict reads from its near cache: invalidation with leases,
 * as in Gray and Cheriton's file-cache leases and Chubby's client caches, with Redis as the lease
 * master.
 *
 * <h2>The protocol</h2>
 * <ul>
 * <li>An instance whose invalidation channel is up registers a lease of {@code period} in a registry
 * (a sorted set scored by expiry on Redis's clock) and renews it every quarter period. It answers
 * strict reads from its near cache only until {@code sentAt + period - margin} by its own clock, where
 * {@code sentAt} is when it sent the renewal that Redis accepted: Redis starts counting later, so the
 * instance stops first.</li>
 * <li>A write, after its write-through has published its invalidation, takes the holders of valid
 * leases from the registry <em>and in the same script records, for each, that it owes this
 * invalidation</em>. It is acknowledged when each holder has answered, or when that holder's lease,
 * as it stood then, has run out.</li>
 * <li>A holder answers an invalidation after dropping the document from its near cache. It cannot
 * renew its lease while it owes one: the renewal returns what it owes instead, and the holder drops
 * and answers those first. So a holder that missed a message (pub/sub is fire-and-forget, and a
 * failover can lose one) either catches up at its next renewal or lets its lease lapse; and a holder
 * that stalled (a long GC pause) finds its lease lapsed by its own clock, drops everything, and serves
 * strict reads again only from reads that begin after a new renewal.</li>
 * </ul>
 * A write whose holders cannot be read (the registry's master unreachable) waits one full period
 * before it is acknowledged, by which time every lease it could not see has lapsed or been renewed
 * through the owed-invalidation check. An instance that stops answering delays writes by at most one
 * period.
 *
 * <p>Longer than most classes: both sides of the lease (holding one, and a write waiting for the
 * holders) are kept together, because the argument for each depends on the other's timing.
 */
final class NearLeases {

    private static final Logger LOG = Logger.getLogger(NearLeases.class);

    private final String instance;
    private final String registry;
    private final String owedPrefix;
    private final String answersPrefix;
    private final RedisNodes redis;
    private final NearCache near;
    private final Vertx vertx;
    private final Duration period;
    private final Duration margin;
    private final java.util.function.IntSupplier replicaAcks;
    private final Duration replicaAckTimeout;
    /** Writes waiting for answers: write id → holder → its answer (or its lease running out). */
    private final Map<String, Map<String, CompletableFuture<Void>>> waiting = new ConcurrentHashMap<>();
    /** Answers that arrived before their write started waiting for them (write id → holders). */
    private final Map<String, List<String>> early = new ConcurrentHashMap<>();
    /** Writes waiting for the next holders snapshot. */
    private final List<Snapshot> snapshots = new ArrayList<>();
    /** Answers to send: owed member → the writer's channel. */
    private final Map<String, String> toAnswer = new ConcurrentHashMap<>();

    private final Timer waited;
    private final Counter leaseRunOuts;
    private volatile boolean up;
    private long renewTimer = -1;
    private volatile boolean answering;

    NearLeases(
            String instance,
            String registry,
            RedisNodes redis,
            NearCache near,
            Vertx vertx,
            Duration period,
            java.util.function.IntSupplier replicaAcks,
            Duration replicaAckTimeout,
            MeterRegistry registryMeters) {
        this.instance = instance;
        this.registry = registry;
        this.owedPrefix = registry + ":owed:";
        this.answersPrefix = registry + ":answers:";
        this.redis = redis;
        this.near = near;
        this.vertx = vertx;
        this.period = period;
        this.margin = Duration.ofMillis(Math.max(100, period.toMillis() / 10));
        this.replicaAcks = replicaAcks;
        this.replicaAckTimeout = replicaAckTimeout;
        this.waited = Timer.builder("strata.cache.near.write_wait")
                .description("How long a write waited for lease holders' answers")
                .publishPercentiles(0.5, 0.99)
                .register(registryMeters);
        this.leaseRunOuts = registryMeters.counter("strata.cache.near.lease_run_outs");
    }

    /** The channel on which this instance receives the answers to its writes' invalidations. */
    String answersChannel() {
        return answersPrefix + instance;
    }

    void start() {
        renewTimer = vertx.setPeriodic(Math.max(50, period.toMillis() / 4), tick -> {
            if (near.leaseLapsed()) {
                LOG.infof("near-cache lease lapsed (%s): dropping the near cache", instance);
                near.leaseLost();
            }
            if (up) {
                renew();
            }
        });
    }

    void stop() {
        vertx.cancelTimer(renewTimer);
        channelDown();
    }

    /** The invalidation channel is up: register the lease (strict near reads start when Redis accepts it). */
    void channelUp() {
        up = true;
        renew();
    }

    /** The invalidation channel is down: give the lease up, so that no write waits for this instance. */
    void channelDown() {
        up = false;
        near.leaseLost();
        redis.run("near_lease", LeaseScripts.relinquishLease(registry, owedPrefix + instance, instance))
                .subscribe()
                .with(
                        ok -> {},
                        failure -> LOG.debugf("near-cache lease not relinquished (it lapses by itself): %s", failure));
    }

    private void renew() {
        long sentAt = near.now();
        Scripts.Call<LeaseScripts.Renewal> call =
                LeaseScripts.renewLease(registry, owedPrefix, instance, period.toMillis());
        int acks = replicaAcks.getAsInt();
        Uni<LeaseScripts.Renewal> renewal = acks == 0
                ? redis.run("near_lease", call)
                : redis.batch(
                                registry,
                                "near_lease",
                                List.of(
                                        call::request,
                                        source -> Request.cmd(Command.WAIT)
                                                .arg(acks)
                                                .arg(replicaAckTimeout.toMillis())))
                        .map(responses -> responses.get(1).toInteger() >= acks
                                ? call.outcome().apply(responses.get(0))
                                : new LeaseScripts.Renewal(false, 0, List.of()));
        renewal.subscribe()
                .with(
                        outcome -> {
                            if (!up) {
                                return;
                            }
                            if (!outcome.renewed()) {
                                // owed invalidations come first: drop and answer them, then renew again
                                outcome.owed().forEach(this::owe);
                                flushAnswers();
                                return;
                            }
                            if (near.leaseLapsed()) {
                                near.leaseLost();
                            }
                            near.leaseRenewed(near.now(), sentAt + period.toNanos() - margin.toNanos());
                        },
                        failure -> LOG.debugf("near-cache lease not renewed: %s", failure));
    }

    /** An owed invalidation ({@code writer writeId entryKey}): drop the document here, answer it. */
    private void owe(String member) {
        String[] parts = member.split(" ");
        if (parts.length == 3) {
            near.invalidate(parts[2]);
            toAnswer.put(member, answersPrefix + parts[0]);
        }
    }

    /** Another instance's write invalidated {@code entryKey} (already dropped here): answer it. */
    void invalidated(String entryKey, String writer, String writeId) {
        if ("-".equals(writeId) || instance.equals(writer)) {
            return;
        }
        toAnswer.put(writer + " " + writeId + " " + entryKey, answersPrefix + writer);
        if (!answering) {
            answering = true;
            vertx.runOnContext(ignored -> flushAnswers());
        }
    }

    /** Sends every pending answer in one script: marks them answered and tells each writer. */
    private void flushAnswers() {
        answering = false;
        if (toAnswer.isEmpty()) {
            return;
        }
        Map<String, String> batch = new HashMap<>(toAnswer);
        batch.keySet().forEach(toAnswer::remove);
        Map<String, List<String>> byChannel = new HashMap<>();
        batch.forEach((member, channel) ->
                byChannel.computeIfAbsent(channel, c -> new ArrayList<>()).add(member.split(" ")[1]));
        List<String> messages = new ArrayList<>();
        byChannel.forEach((channel, writeIds) -> {
            messages.add(channel);
            messages.add(instance + " " + String.join(",", writeIds));
        });
        redis.run(
                        "near_answer",
                        LeaseScripts.answerInvalidations(
                                owedPrefix + instance, new ArrayList<>(batch.keySet()), messages))
                .subscribe()
                .with(
                        ok -> {
                            if (up) {
                                renew();
                            }
                        },
                        failure -> {
                            // answered at the next renewal, which returns what is still owed
                            LOG.debugf("answers to %d invalidations not sent: %s", batch.size(), failure);
                        });
    }

    /** Answers to this instance's writes: {@code holder writeId,writeId,…}. */
    void answered(String message) {
        int space = message.indexOf(' ');
        if (space <= 0) {
            return;
        }
        String holder = message.substring(0, space);
        for (String writeId : message.substring(space + 1).split(",")) {
            Map<String, CompletableFuture<Void>> holders = waiting.get(writeId);
            CompletableFuture<Void> answer = holders == null ? null : holders.get(holder);
            if (answer != null) {
                answer.complete(null);
            } else {
                early.computeIfAbsent(writeId, id -> new java.util.concurrent.CopyOnWriteArrayList<>())
                        .add(holder);
                vertx.setTimer(period.toMillis() * 2, forget -> early.remove(writeId));
            }
        }
    }

    /**
     * After a write's invalidation of {@code entryKey} was published with {@code writeId}: waits until
     * every lease holder has answered it or its lease has run out.
     */
    Uni<Void> awaitHolders(String entryKey, String writeId) {
        long started = System.nanoTime();
        return snapshot(instance + " " + writeId + " " + entryKey)
                .onItemOrFailure()
                .transformToUni((holders, failure) -> {
                    if (failure != null) {
                        LOG.debugf("lease holders unknown (%s): waiting one lease period", failure);
                        leaseRunOuts.increment();
                        return Uni.createFrom().voidItem().onItem().delayIt().by(period);
                    }
                    if (holders.expiries().isEmpty()) {
                        return Uni.createFrom().voidItem();
                    }
                    Map<String, CompletableFuture<Void>> answers = new ConcurrentHashMap<>();
                    holders.expiries().keySet().forEach(holder -> answers.put(holder, new CompletableFuture<>()));
                    waiting.put(writeId, answers);
                    List<String> already = early.remove(writeId);
                    if (already != null) {
                        already.forEach(holder -> {
                            CompletableFuture<Void> answer = answers.get(holder);
                            if (answer != null) {
                                answer.complete(null);
                            }
                        });
                    }
                    List<Long> timers = new ArrayList<>();
                    holders.expiries().forEach((holder, expiry) -> {
                        long remaining = Math.max(1, expiry - holders.redisNowMillis());
                        timers.add(vertx.setTimer(remaining, ranOut -> {
                            if (answers.get(holder).complete(null)) {
                                leaseRunOuts.increment();
                                LOG.debugf(
                                        "lease holder %s did not answer write %s in time: its lease ran out",
                                        holder, writeId);
                            }
                        }));
                    });
                    return Uni.createFrom()
                            .completionStage(
                                    CompletableFuture.allOf(answers.values().toArray(CompletableFuture[]::new)))
                            .onTermination()
                            .invoke(() -> {
                                waiting.remove(writeId);
                                timers.forEach(vertx::cancelTimer);
                            });
                })
                .onTermination()
                .invoke(() -> waited.record(System.nanoTime() - started, TimeUnit.NANOSECONDS))
                .replaceWithVoid();
    }

    /**
     * The holders of valid leases, taken after the caller's invalidation was published, each recorded
     * as owing {@code owed}. The writes that ask within one turn of the event loop share one script
     * call: each of them asks only after its own publication, so the shared snapshot still follows
     * every publication it answers for, and every holder in it owes each of those invalidations.
     */
    private Uni<LeaseScripts.Holders> snapshot(String owed) {
        return Uni.createFrom().emitter(emitter -> {
            boolean first;
            synchronized (snapshots) {
                snapshots.add(new Snapshot(owed, emitter));
                first = snapshots.size() == 1;
            }
            if (first) {
                vertx.runOnContext(ignored -> takeSnapshots());
            }
        });
    }

    private void takeSnapshots() {
        List<Snapshot> batch;
        synchronized (snapshots) {
            batch = new ArrayList<>(snapshots);
            snapshots.clear();
        }
        for (int from = 0; from < batch.size(); from += LeaseScripts.MAX_OWED_PER_SNAPSHOT) {
            List<Snapshot> part =
                    batch.subList(from, Math.min(batch.size(), from + LeaseScripts.MAX_OWED_PER_SNAPSHOT));
            redis.run(
                            "near_holders",
                            LeaseScripts.leaseHolders(
                                    registry,
                                    owedPrefix,
                                    instance,
                                    part.stream().map(Snapshot::owed).toList()))
                    .subscribe()
                    .with(
                            holders -> part.forEach(waiter -> waiter.emitter().complete(holders)),
                            failure -> part.forEach(waiter -> waiter.emitter().fail(failure)));
        }
    }

    /** A write waiting for the holders snapshot that records the invalidation it owes them. */
    private record Snapshot(String owed, UniEmitter<? super LeaseScripts.Holders> emitter) {}

    /** Publishes an invalidation from anywhere (when the document's master could not), then waits for the holders. */
    Uni<Void> publishAndAwait(String channel, String message, String entryKey, String writeId) {
        return redis.send(
                        registry,
                        "near_publish",
                        Request.cmd(Command.PUBLISH).arg(channel).arg(message))
                .onItemOrFailure()
                .transformToUni((published, failure) -> failure == null
                        ? awaitHolders(entryKey, writeId)
                        : Uni.createFrom().voidItem().onItem().delayIt().by(period));
    }
}
