package io.strata.storage.pg;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.strata.storage.ApiKeyStore;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * API keys in the {@code api_keys} table. A revocation notifies {@value #CHANNEL} in its own
 * transaction; every instance listens, and after any reconnection tells its listeners to forget
 * every verified key (notifications sent while it was away are lost).
 */
@ApplicationScoped
public class PgApiKeyStore implements ApiKeyStore {

    static final String CHANNEL = "strata_key_revocations";
    private static final String COLUMNS = "id, name, hash, scopes, rate_limit, created_at, revoked_at";
    private static final String FIND = "SELECT " + COLUMNS + " FROM api_keys WHERE hash = $1";
    private static final String CREATE =
            "INSERT INTO api_keys (id, name, hash, scopes, rate_limit) VALUES ($1, $2, $3, $4, $5) "
                    + "ON CONFLICT (hash) DO NOTHING";
    private static final String LIST = "SELECT " + COLUMNS + " FROM api_keys ORDER BY created_at DESC, id";
    private static final String REVOKE =
            "WITH revoked AS (UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
                    + "WHERE id = $1 RETURNING " + COLUMNS + ") SELECT revoked.*, pg_notify('" + CHANNEL
                    + "', revoked.hash) FROM revoked";

    private final Pool pool;
    private final StorageGuards guards;
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
    private final PgListener listener;

    public PgApiKeyStore(Pool pool, StorageGuards guards, PgListener listener) {
        this.pool = pool;
        this.guards = guards;
        this.listener = listener;
    }

    @PostConstruct
    void listen() {
        listener.listen(
                CHANNEL, hash -> listeners.forEach(l -> l.accept(hash)), () -> listeners.forEach(l -> l.accept("*")));
    }

    @Override
    public Uni<StoredKey> findByHash(String hash) {
        return guards.read(() -> pool.preparedQuery(FIND).execute(Tuple.of(hash)))
                .map(PgApiKeyStore::first);
    }

    @Override
    public Uni<StoredKey> create(String id, String name, String hash, List<String> scopes, int rateLimit) {
        Tuple args = Tuple.of(id, name, hash, scopes.toArray(String[]::new), rateLimit);
        return guards.write(() -> pool.preparedQuery(CREATE).execute(args)).flatMap(ignored -> findByHash(hash));
    }

    @Override
    public Uni<List<StoredKey>> list() {
        return guards.read(() -> pool.preparedQuery(LIST).execute()).map(rows -> {
            List<StoredKey> keys = new ArrayList<>(rows.size());
            rows.forEach(row -> keys.add(key(row)));
            return keys;
        });
    }

    @Override
    public Uni<StoredKey> revoke(String id) {
        return guards.write(() -> pool.preparedQuery(REVOKE).execute(Tuple.of(id)))
                .map(PgApiKeyStore::first);
    }

    @Override
    public void onRevocation(Consumer<String> listener) {
        listeners.add(listener);
    }

    private static StoredKey first(RowSet<Row> rows) {
        return rows.size() == 0 ? null : key(rows.iterator().next());
    }

    private static StoredKey key(Row row) {
        OffsetDateTime revoked = row.getOffsetDateTime("revoked_at");
        return new StoredKey(
                row.getString("id"),
                row.getString("name"),
                row.getString("hash"),
                Arrays.asList(row.getArrayOfStrings("scopes")),
                row.getInteger("rate_limit"),
                row.getOffsetDateTime("created_at").toInstant(),
                revoked == null ? null : revoked.toInstant());
    }
}
