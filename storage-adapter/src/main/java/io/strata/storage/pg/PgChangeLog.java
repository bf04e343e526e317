package io.strata.storage.pg;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.smallrye.mutiny.Uni;
import io.strata.storage.ChangeLog;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The change log on PostgreSQL: the {@code document_changes} outbox that every write fills in its own
 * transaction, and {@code LISTEN}/{@code NOTIFY} on the channel {@value #CHANNEL} for announcements,
 * which PostgreSQL delivers to every listening instance.
 */
@ApplicationScoped
public class PgChangeLog implements ChangeLog {

    static final String CHANNEL = "strata_changes";
    private static final Logger LOG = Logger.getLogger(PgChangeLog.class);

    /** Keyset pages in key order: a page starts after the last one's (collection, id), however many are stuck. */
    private static final String UNCONFIRMED = "SELECT collection, id, version FROM document_changes "
            + "WHERE recorded_at < now() - make_interval(secs => $1) AND (collection, id) > ($3, $4) "
            + "ORDER BY collection, id LIMIT $2";

    private static final String PENDING =
            "SELECT 1 FROM document_changes WHERE collection = $1 AND id = $2 AND version >= $3";
    /** Confirms a batch in one statement; a newer change of a document (another version) stays. */
    private static final String CONFIRM =
            "DELETE FROM document_changes d USING unnest($1::text[], $2::text[], $3::bigint[]) "
                    + "AS c(collection, id, version) WHERE d.collection = c.collection AND d.id = c.id AND d.version = c.version";

    private static final String ANNOUNCE = "SELECT pg_notify('" + CHANNEL + "', $1)";

    private final Pool pool;
    private final StorageGuards guards;
    private final List<Consumer<Change>> listeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> resubscribed = new CopyOnWriteArrayList<>();
    private final PgListener listener;

    public PgChangeLog(Pool pool, StorageGuards guards, PgListener listener) {
        this.pool = pool;
        this.guards = guards;
        this.listener = listener;
    }

    @PostConstruct
    void listen() {
        listener.listen(CHANNEL, this::announced, () -> resubscribed.forEach(Runnable::run));
    }

    /** Payload: {@code <version> <collection>/<id>} (names hold neither spaces nor, in collections, slashes). */
    private void announced(String payload) {
        int space = payload.indexOf(' ');
        int slash = payload.indexOf('/', space + 1);
        if (space <= 0 || slash <= space + 1) {
            return;
        }
        try {
            Change change = new Change(
                    payload.substring(space + 1, slash),
                    payload.substring(slash + 1),
                    Long.parseLong(payload.substring(0, space)));
            listeners.forEach(listener -> listener.accept(change));
        } catch (NumberFormatException e) {
            LOG.debugf("ignoring announcement %s", payload);
        }
    }

    @Override
    public Uni<List<Change>> unconfirmed(Duration olderThan, Change after, int limit) {
        double seconds = olderThan.toMillis() / 1000.0;
        Tuple args = Tuple.of(seconds, limit, after == null ? "" : after.collection(), after == null ? "" : after.id());
        return guards.read(() -> pool.preparedQuery(UNCONFIRMED).execute(args)).map(found -> {
            List<Change> changes = new ArrayList<>(found.size());
            for (Row row : found) {
                changes.add(new Change(row.getString("collection"), row.getString("id"), row.getLong("version")));
            }
            return changes;
        });
    }

    @Override
    public Uni<Boolean> pending(Change change) {
        return guards.read(() -> pool.preparedQuery(PENDING)
                        .execute(Tuple.of(change.collection(), change.id(), change.version())))
                .map(rows -> rows.size() > 0);
    }

    @Override
    public Uni<Void> confirm(List<Change> changes) {
        if (changes.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        Tuple batch = Tuple.tuple()
                .addArrayOfString(changes.stream().map(Change::collection).toArray(String[]::new))
                .addArrayOfString(changes.stream().map(Change::id).toArray(String[]::new))
                .addArrayOfLong(changes.stream().map(Change::version).toArray(Long[]::new));
        return guards.write(() -> pool.preparedQuery(CONFIRM).execute(batch)).replaceWithVoid();
    }

    @Override
    public Uni<Void> announce(Change change) {
        String payload = change.version() + " " + change.collection() + "/" + change.id();
        return guards.write(() -> pool.preparedQuery(ANNOUNCE).execute(Tuple.of(payload)))
                .replaceWithVoid();
    }

    @Override
    public void onAnnouncement(Consumer<Change> listener, Runnable resubscribed) {
        listeners.add(listener);
        this.resubscribed.add(resubscribed);
    }
}
