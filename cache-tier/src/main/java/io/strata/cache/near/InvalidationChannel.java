package io.strata.cache.near;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

/**
 * The Redis pub/sub channel that tells every instance's {@link NearCache} which documents changed.
 * The write-through and invalidation scripts publish the document's entry key on it (Redis Cluster
 * forwards a {@code PUBLISH} to every node), and each instance keeps one subscription, on any node,
 * moving to another when its node goes away. While no subscription is up the near cache serves nothing.
 *
 * <p>A message is {@code <entry key> <epoch ms at publication> <instance> <write id>} ({@code -}: no
 * write waits for answers); the delay from publication to receipt is recorded per origin (this
 * instance or a peer). The same connection receives the answers to this instance's writes
 * ({@link NearLeases}).
 */
final class InvalidationChannel {

    private static final Logger LOG = Logger.getLogger(InvalidationChannel.class);
    private static final long RETRY_MILLIS = 500;

    private final String channel;
    private final String instance;
    private final Vertx vertx;
    private final Supplier<RedisOptions> options;
    private final Supplier<java.util.Set<String>> masters;
    private final NearCache near;
    private final NearLeases leases;
    private final Timer peerDelay;
    private final Timer selfDelay;
    private final Counter received;
    private Redis client;
    private int attempt;
    private volatile boolean stopped;

    InvalidationChannel(
            String channel,
            String instance,
            Vertx vertx,
            Supplier<RedisOptions> options,
            Supplier<java.util.Set<String>> masters,
            NearCache near,
            NearLeases leases,
            MeterRegistry registry) {
        this.channel = channel;
        this.instance = instance;
        this.leases = leases;
        this.vertx = vertx;
        this.options = options;
        this.masters = masters;
        this.near = near;
        this.peerDelay = delayTimer(registry, "peer");
        this.selfDelay = delayTimer(registry, "self");
        this.received = registry.counter("strata.cache.near.invalidations");
    }

    private static Timer delayTimer(MeterRegistry registry, String origin) {
        return Timer.builder("strata.cache.near.invalidation.delay")
                .description("From the publication of a change to its receipt by this instance's near cache")
                .tag("origin", origin)
                .publishPercentileHistogram()
                .publishPercentiles(0.5, 0.99)
                .register(registry);
    }

    String channel() {
        return channel;
    }

    /** The message announcing a change of the document whose entry key is {@code entryKey}; {@code writeId} {@code -}: none. */
    String message(String entryKey, String writeId) {
        return entryKey + " " + System.currentTimeMillis() + " " + instance + " " + writeId;
    }

    void start() {
        vertx.runOnContext(ignored -> subscribe());
    }

    void stop() {
        stopped = true;
        close();
    }

    private void subscribe() {
        if (stopped) {
            return;
        }
        RedisOptions base = options.get();
        List<String> endpoints = endpoints(base);
        if (endpoints.isEmpty()) {
            retryLater();
            return;
        }
        String endpoint = endpoints.get(Math.floorMod(attempt++, endpoints.size()));
        client = Redis.createClient(
                vertx,
                new RedisOptions(base)
                        .setType(RedisClientType.STANDALONE)
                        .setEndpoints(List.of(endpoint))
                        .setMaxPoolSize(1)
                        .setMaxPoolWaiting(1));
        client.connect()
                .onSuccess(connection -> {
                    connection.handler(this::onMessage);
                    connection.exceptionHandler(failure -> lost(connection, failure.toString()));
                    connection.endHandler(ended -> lost(connection, "connection closed"));
                    connection
                            .send(Request.cmd(Command.SUBSCRIBE).arg(channel).arg(leases.answersChannel()))
                            .onSuccess(ok -> {
                                near.live();
                                leases.channelUp();
                                LOG.debugf("near cache subscribed to %s", channel);
                            })
                            .onFailure(failure -> lost(connection, failure.toString()));
                })
                .onFailure(failure -> {
                    LOG.debugf("near cache invalidation channel unreachable at %s: %s", redact(endpoint), failure);
                    close();
                    retryLater();
                });
    }

    private void lost(RedisConnection connection, String why) {
        if (stopped) {
            return;
        }
        if (near.isLive()) {
            LOG.infof("near cache invalidation channel lost (%s); near cache off until resubscribed", why);
        }
        near.down();
        leases.channelDown();
        connection.close();
        close();
        retryLater();
    }

    private void close() {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    private void retryLater() {
        if (!stopped) {
            vertx.setTimer(RETRY_MILLIS, ignored -> subscribe());
        }
    }

    private void onMessage(Response response) {
        if (response == null
                || response.size() < 3
                || !"message".equalsIgnoreCase(response.get(0).toString())) {
            return;
        }
        String payload = response.get(2).toString();
        if (!channel.equals(response.get(1).toString())) {
            leases.answered(payload);
            return;
        }
        String[] parts = payload.split(" ");
        if (parts.length != 4) {
            return;
        }
        near.invalidate(parts[0]);
        leases.invalidated(parts[0], parts[2], parts[3]);
        received.increment();
        try {
            long delay = Math.max(0, System.currentTimeMillis() - Long.parseLong(parts[1]));
            (instance.equals(parts[2]) ? selfDelay : peerDelay).record(delay, TimeUnit.MILLISECONDS);
        } catch (NumberFormatException e) {
            LOG.debugf("malformed invalidation message: %s", payload);
        }
    }

    /**
     * Where to subscribe: the masters of the current slot map (with the configured scheme and
     * credentials), or the configured endpoints before the map is known.
     */
    private List<String> endpoints(RedisOptions base) {
        List<String> configured = base.getEndpoints();
        List<String> endpoints = new ArrayList<>();
        for (String master : masters.get()) {
            String endpoint = io.strata.cache.redis.RedisNodes.endpoint(base, master);
            if (endpoint != null) {
                endpoints.add(endpoint);
            }
        }
        return endpoints.isEmpty() ? configured : endpoints;
    }

    private static String redact(String endpoint) {
        int at = endpoint.indexOf('@');
        int scheme = endpoint.indexOf("://");
        return at < 0 || scheme < 0 ? endpoint : endpoint.substring(0, scheme + 3) + "***" + endpoint.substring(at);
    }
}
