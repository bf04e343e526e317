package io.strata.storage.pg;

import java.util.function.Consumer;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.pgclient.pubsub.PgSubscriber;
import io.vertx.pgclient.PgConnectOptions;

/**
 * The instance's one PostgreSQL connection for {@code LISTEN}, shared by every channel: made from the
 * datasource's reactive URL and credentials, reconnecting every 500 ms while PostgreSQL is away and
 * retrying the first connection every second.
 */
@ApplicationScoped
public class PgListener {

    private static final Logger LOG = Logger.getLogger(PgListener.class);

    private final Vertx vertx;
    private final PgSubscriber subscriber;

    /**
     * @param listenUrl where to listen when the request path goes through a transaction-mode pooler,
     *                  which cannot hold a {@code LISTEN}: a direct or session-mode address
     *                  ({@code strata.storage.listen-url}); the request path's URL otherwise
     * @param tlsName   the TLS configuration the request path uses, applied here too (its trust store,
     *                  for {@code sslmode=verify-full})
     */
    public PgListener(
            Vertx vertx,
            @ConfigProperty(name = "quarkus.datasource.reactive.url") String url,
            @ConfigProperty(name = "strata.storage.listen-url") java.util.Optional<String> listenUrl,
            @ConfigProperty(name = "quarkus.datasource.username") String user,
            @ConfigProperty(name = "quarkus.datasource.password", defaultValue = "") String password,
            @ConfigProperty(name = "quarkus.datasource.reactive.tls-configuration-name")
                    java.util.Optional<String> tlsName,
            jakarta.enterprise.inject.Instance<io.quarkus.tls.TlsConfigurationRegistry> tls) {
        this.vertx = vertx;
        String chosen = listenUrl.filter(u -> !u.isBlank()).orElse(url);
        String uri = chosen.startsWith("vertx-reactive:") ? chosen.substring("vertx-reactive:".length()) : chosen;
        PgConnectOptions options = PgConnectOptions.fromUri(uri).setUser(user);
        if (!password.isEmpty()) {
            options.setPassword(password);
        }
        tlsName.filter(name -> tls != null && tls.isResolvable())
                .flatMap(name -> tls.get().get(name))
                .ifPresent(configuration -> {
                    options.setSsl(true);
                    if (configuration.getTrustStoreOptions() != null) {
                        options.setTrustOptions(configuration.getTrustStoreOptions());
                    }
                    if (configuration.getKeyStoreOptions() != null) {
                        options.setKeyCertOptions(configuration.getKeyStoreOptions());
                    }
                });
        this.subscriber = PgSubscriber.subscriber(vertx, options);
        subscriber.reconnectPolicy(attempt -> 500L);
    }

    @PostConstruct
    void connect() {
        subscriber.connect().subscribe().with(ok -> LOG.debug("listening for notifications"), failure -> {
            LOG.debugf("cannot listen for notifications yet: %s", failure.toString());
            vertx.setTimer(1000, ignored -> connect());
        });
    }

    /**
     * Delivers the payloads notified on {@code channel}; {@code subscribed} runs each time the channel
     * is (re)subscribed, after which notifications sent while disconnected are lost.
     */
    void listen(String channel, Consumer<String> handler, Runnable subscribed) {
        subscriber.channel(channel).handler(handler).subscribeHandler(subscribed);
    }

    @PreDestroy
    void close() {
        subscriber.closeAndForget();
    }
}
