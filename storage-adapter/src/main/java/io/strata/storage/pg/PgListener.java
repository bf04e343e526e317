package io.strata.storage.pg;

import org.jboss.logging.Logger;

import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.pgclient.pubsub.PgSubscriber;
import io.vertx.pgclient.PgConnectOptions;

/**
 * A dedicated PostgreSQL connection for {@code LISTEN}: made from the datasource's reactive URL and
 * credentials, reconnecting every 500 ms while PostgreSQL is away and retrying the first connection
 * every second. The caller registers its channels before {@link #connect()}.
 */
final class PgListener {

    private static final Logger LOG = Logger.getLogger(PgListener.class);

    private final Vertx vertx;
    private final String what;
    final PgSubscriber subscriber;

    PgListener(Vertx vertx, String url, String user, String password, String what) {
        this.vertx = vertx;
        this.what = what;
        String uri = url.startsWith("vertx-reactive:") ? url.substring("vertx-reactive:".length()) : url;
        PgConnectOptions options = PgConnectOptions.fromUri(uri).setUser(user);
        if (!password.isEmpty()) {
            options.setPassword(password);
        }
        this.subscriber = PgSubscriber.subscriber(vertx, options);
        subscriber.reconnectPolicy(attempt -> 500L);
    }

    void connect() {
        subscriber.connect().subscribe().with(ok -> LOG.debugf("listening for %s", what), failure -> {
            LOG.debugf("cannot listen for %s yet: %s", what, failure.toString());
            vertx.setTimer(1000, ignored -> connect());
        });
    }

    void close() {
        subscriber.closeAndForget();
    }
}
