package io.strata.storage.pg;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.mutiny.Uni;
import io.strata.storage.Document;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Page;
import io.strata.storage.Precondition;
import io.strata.storage.StorageException;
import io.strata.storage.WriteResult;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The PostgreSQL adapter of the storage port, on the reactive (Vert.x) client and its pool.
 *
 * <p>A write locks the document's row ({@code SELECT … FOR UPDATE}) and only then takes the next
 * version from the sequence, in the same statement that stores it. Taking the version under the row
 * lock is what makes a document's versions grow in commit order: two writers of one id serialise on
 * the lock, and the second one draws its version after the first has committed. A document without a
 * row yet is created by {@code INSERT … ON CONFLICT DO NOTHING}; losing that race to a concurrent
 * creator means the row now exists, so the write starts over and locks it.
 */
@ApplicationScoped
public class PgDocumentStore implements DocumentStore {

    private static final String READ = "SELECT version, body FROM documents WHERE collection = $1 AND id = $2";
    /**
     * The requested documents in the order asked, each body only while the running total of body
     * sizes (in that order, this body included) stays within the budget $3, except the first body,
     * which is always sent. Sizes come from {@code octet_length}, which reads a stored value's header,
     * not the value.
     */
    private static final String READ_MANY = "SELECT id, version, CASE WHEN running <= $3 OR running = size THEN body END AS body, "
            + "body IS NOT NULL AS live FROM (SELECT d.id, d.version, d.body, r.n, coalesce(octet_length(d.body), 0) AS size, "
            + "sum(coalesce(octet_length(d.body), 0)) OVER (ORDER BY r.n) AS running "
            + "FROM unnest($2::text[]) WITH ORDINALITY AS r(id, n) JOIN documents d ON d.collection = $1 AND d.id = r.id) asked";
    /** Locks the row; the body is not read (a write replaces it), only whether there is one. */
    private static final String LOCK = "SELECT version, body IS NULL AS deleted FROM documents WHERE collection = $1 AND id = $2 FOR UPDATE";
    /** Every write also records its change (see {@link PgChangeLog}) in the same statement. */
    private static final String RECORD_CHANGE = " INSERT INTO document_changes (collection, id, version) "
            + "SELECT collection, id, version FROM written ON CONFLICT (collection, id) "
            + "DO UPDATE SET version = EXCLUDED.version, recorded_at = now() RETURNING version";
    private static final String INSERT = "WITH written AS (INSERT INTO documents (collection, id, version, body) "
            + "VALUES ($1, $2, nextval('strata_version_seq'), $3) ON CONFLICT DO NOTHING RETURNING collection, id, version)"
            + RECORD_CHANGE;
    private static final String REPLACE = "WITH written AS (UPDATE documents SET version = nextval('strata_version_seq'), "
            + "body = $3, updated_at = now() WHERE collection = $1 AND id = $2 RETURNING collection, id, version)"
            + RECORD_CHANGE;
    private static final String TOMBSTONE = "WITH written AS (UPDATE documents SET version = nextval('strata_version_seq'), "
            + "body = NULL, updated_at = now() WHERE collection = $1 AND id = $2 RETURNING collection, id, version)"
            + RECORD_CHANGE;
    /**
     * A page: at most $3 live documents after $2 in byte order, bodies only while the running total of
     * their sizes (this body included) stays within $4, except the first body, which is always sent.
     * Rows past the budget come without their body: they only tell that the page ends early. The window
     * runs over the index scan and stops with the limit, so a page reads at most $3 rows however large
     * the collection.
     */
    private static final String LIST = "SELECT id, version, CASE WHEN running <= $4 OR running = size THEN body END AS body "
            + "FROM (SELECT id, version, body, octet_length(body) AS size, sum(octet_length(body)) OVER (ORDER BY id) AS running "
            + "FROM documents WHERE collection = $1 AND body IS NOT NULL AND id > $2 "
            + "ORDER BY id LIMIT $3) page ORDER BY id";

    /** A lost creation race is retried this many times before giving up (it cannot repeat in practice). */
    private static final int MAX_CREATE_ATTEMPTS = 3;

    private final Pool pool;
    private final StorageGuards guards;
    private final MeterRegistry registry;

    public PgDocumentStore(Pool pool, StorageGuards guards, MeterRegistry registry) {
        this.pool = pool;
        this.guards = guards;
        this.registry = registry;
        for (String operation : new String[] { "read", "read_many", "write", "list" }) {
            Timer.builder("strata.storage.queries").tags("operation", operation, "outcome", "ok").register(registry);
        }
    }

    @Override
    public Uni<Lookup> read(String collection, String id) {
        return timed("read", guards.read(() -> pool.preparedQuery(READ).execute(Tuple.of(collection, id)))).map(rows -> {
            if (rows.size() == 0) {
                return Lookup.absent(collection, id, 0);
            }
            return toLookup(collection, id, rows.iterator().next());
        });
    }

    @Override
    public Uni<Many> readMany(String collection, List<String> ids, long maxBytes) {
        if (ids.isEmpty()) {
            return Uni.createFrom().item(new Many(Map.of(), List.of()));
        }
        Tuple args = Tuple.tuple().addString(collection).addArrayOfString(ids.toArray(String[]::new)).addLong(maxBytes);
        return timed("read_many", guards.read(() -> pool.preparedQuery(READ_MANY).execute(args))).map(rows -> {
            Map<String, Lookup> found = new HashMap<>();
            List<String> deferred = new ArrayList<>();
            java.util.Set<String> deferredIds = new java.util.HashSet<>();
            for (Row row : rows) {
                String id = row.getString("id");
                if (row.getBoolean("live") && row.getBuffer("body") == null) {
                    deferred.add(id);
                    deferredIds.add(id);
                } else {
                    found.put(id, toLookup(collection, id, row));
                }
            }
            for (String id : ids) {
                if (!deferredIds.contains(id)) {
                    found.putIfAbsent(id, Lookup.absent(collection, id, 0));
                }
            }
            return new Many(found, deferred);
        });
    }

    @Override
    public Uni<WriteResult> put(String collection, String id, byte[] body, Precondition precondition) {
        return write(collection, id, precondition, body);
    }

    @Override
    public Uni<WriteResult> delete(String collection, String id, Precondition precondition) {
        return write(collection, id, precondition, null);
    }

    @Override
    public Uni<Page> list(String collection, String afterId, int limit, long maxBytes) {
        Tuple args = Tuple.of(collection, afterId == null ? "" : afterId, limit + 1, maxBytes);
        return timed("list", guards.read(() -> pool.preparedQuery(LIST).execute(args))).map(rows -> {
            List<Document> documents = new ArrayList<>(Math.min(rows.size(), limit));
            boolean more = false;
            for (Row row : rows) {
                Buffer body = row.getBuffer("body");
                if (documents.size() == limit || body == null) {
                    more = true;
                    break;
                }
                documents.add(new Document(collection, row.getString("id"), row.getLong("version"), body.getBytes()));
            }
            String lastId = more ? documents.get(documents.size() - 1).id() : null;
            return new Page(documents, lastId);
        });
    }

    /** Writes {@code next} ({@code null}: deletes) under the row lock, if the precondition holds. */
    private Uni<WriteResult> write(String collection, String id, Precondition precondition, byte[] next) {
        return timed("write", guards.write(() -> pool.withTransaction(conn -> writeLocked(conn, collection, id, precondition, next, 1))));
    }

    private Uni<WriteResult> writeLocked(SqlConnection conn, String collection, String id, Precondition precondition,
            byte[] next, int attempt) {
        return conn.preparedQuery(LOCK).execute(Tuple.of(collection, id)).flatMap(rows -> {
            Row row = rows.size() == 0 ? null : rows.iterator().next();
            Long liveVersion = row == null || row.getBoolean("deleted") ? null : row.getLong("version");
            if (!precondition.allows(liveVersion)) {
                throw new StorageException.PreconditionFailed();
            }
            if (next == null && liveVersion == null) {
                throw new StorageException.NotFound();
            }
            boolean created = liveVersion == null;
            if (row != null) {
                Uni<RowSet<Row>> stored = next == null
                        ? conn.preparedQuery(TOMBSTONE).execute(Tuple.of(collection, id))
                        : conn.preparedQuery(REPLACE).execute(withBody(collection, id, next));
                return stored.map(updated -> new WriteResult(collection, id, versionOf(updated), next, created));
            }
            return conn.preparedQuery(INSERT).execute(withBody(collection, id, next))
                    .flatMap(inserted -> {
                        if (inserted.size() == 1) {
                            return Uni.createFrom().item(new WriteResult(collection, id, versionOf(inserted), next, true));
                        }
                        if (attempt >= MAX_CREATE_ATTEMPTS) {
                            return Uni.createFrom().failure(new IllegalStateException(
                                    "could not lock or create " + collection + "/" + id));
                        }
                        return writeLocked(conn, collection, id, precondition, next, attempt + 1);
                    });
        });
    }

    /** Times a storage call (its latency by operation and outcome: {@code strata_storage_queries_seconds}). */
    private <T> Uni<T> timed(String operation, Uni<T> call) {
        return Uni.createFrom().deferred(() -> {
            Timer.Sample sample = Timer.start(registry);
            return call.onTermination().invoke((item, failure, cancelled) -> sample.stop(registry.timer(
                    "strata.storage.queries", "operation", operation, "outcome", failure == null && !cancelled ? "ok" : "failed")));
        });
    }

    private static Tuple withBody(String collection, String id, byte[] body) {
        return Tuple.tuple().addString(collection).addString(id).addBuffer(Buffer.buffer(body));
    }

    private static long versionOf(RowSet<Row> rows) {
        return rows.iterator().next().getLong("version");
    }

    private static Lookup toLookup(String collection, String id, Row row) {
        Buffer body = row.getBuffer("body");
        long version = row.getLong("version");
        return body == null
                ? Lookup.absent(collection, id, version)
                : new Lookup.Found(new Document(collection, id, version, body.getBytes()));
    }
}
