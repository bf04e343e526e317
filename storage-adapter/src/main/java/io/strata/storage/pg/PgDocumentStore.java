package io.strata.storage.pg;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The PostgreSQL adapter of the storage port, on the reactive (Vert.x) client and its pool.
 *
 * <p>A write is one statement, a call of the {@code strata_write} function (migration V4): it locks
 * the document's row ({@code SELECT … FOR UPDATE}), evaluates the preconditions against the committed
 * version, and only then takes the next version from the sequence. Taking the version under the row
 * lock is what makes a document's versions grow in commit order: two writers of one id serialise on
 * the lock, and the second one draws its version after the first has committed. A document without a
 * row yet is created by {@code INSERT … ON CONFLICT DO NOTHING}; losing that race to a concurrent
 * creator means the row now exists, so the function starts over and locks it. The change is recorded
 * in the same transaction. One round trip instead of a transaction's four.
 *
 * <p>Every change of a row also takes the document's advisory lock, exclusively (a trigger, migration
 * V5), which {@link #readCurrent} holds shared while it hands its answer out: a read shared by many
 * requests stays current until it stops taking them.
 */
@ApplicationScoped
public class PgDocumentStore implements DocumentStore {

    private static final String READ = "SELECT version, body FROM documents WHERE collection = $1 AND id = $2";
    /** The row under the document's lock, shared (see V5__reads_that_stay_current.sql). */
    private static final String READ_CURRENT = "SELECT version, body FROM strata_read_current($1, $2, $3)";
    /**
     * The requested documents in the order asked, each body only while the running total of body
     * sizes (in that order, this body included) stays within the budget $3, except the first body,
     * which is always sent. Sizes come from {@code octet_length}, which reads a stored value's header,
     * not the value.
     */
    private static final String READ_MANY =
            "SELECT id, version, CASE WHEN running <= $3 OR running = size THEN body END AS body, "
                    + "body IS NOT NULL AS live FROM (SELECT d.id, d.version, d.body, r.n, coalesce(octet_length(d.body), 0) AS size, "
                    + "sum(coalesce(octet_length(d.body), 0)) OVER (ORDER BY r.n) AS running "
                    + "FROM unnest($2::text[]) WITH ORDINALITY AS r(id, n) JOIN documents d ON d.collection = $1 AND d.id = r.id) asked";
    /** A write: lock, preconditions, version, change record, all in one statement (see V4__write_function.sql). */
    private static final String WRITE =
            "SELECT outcome, version, created FROM strata_write($1, $2, $3, $4, $5, $6, $7, $8)";
    /**
     * A page: at most $3 live documents after $2 in byte order, bodies only while the running total of
     * their sizes (this body included) stays within $4, except the first body, which is always sent.
     * Rows past the budget come without their body: they only tell that the page ends early. The window
     * runs over the index scan and stops with the limit, so a page reads at most $3 rows however large
     * the collection.
     */
    private static final String LIST =
            "SELECT id, version, CASE WHEN running <= $4 OR running = size THEN body END AS body "
                    + "FROM (SELECT id, version, body, octet_length(body) AS size, sum(octet_length(body)) OVER (ORDER BY id) AS running "
                    + "FROM documents WHERE collection = $1 AND body IS NOT NULL AND id > $2 "
                    + "ORDER BY id LIMIT $3) page ORDER BY id";

    private final Pool pool;
    private final StorageGuards guards;
    private final MeterRegistry registry;

    public PgDocumentStore(Pool pool, StorageGuards guards, MeterRegistry registry) {
        this.pool = pool;
        this.guards = guards;
        this.registry = registry;
        for (String operation : new String[] {"read", "read_many", "write", "list"}) {
            Timer.builder("strata.storage.queries")
                    .tags("operation", operation, "outcome", "ok")
                    .register(registry);
        }
    }

    @Override
    public Uni<Lookup> read(String collection, String id) {
        return timed("read", guards.read(() -> pool.preparedQuery(READ).execute(Tuple.of(collection, id))))
                .map(rows -> {
                    if (rows.size() == 0) {
                        return Lookup.absent(collection, id, 0);
                    }
                    return toLookup(collection, id, rows.iterator().next());
                });
    }

    /**
     * The read and {@code whileCurrent} in one transaction that holds the document's lock shared (taken
     * by {@code strata_read_current} before it reads); every change of a document row takes that lock
     * exclusively (a trigger), so none commits until this transaction ends, after {@code whileCurrent}.
     * The lookup is answered after COMMIT: a transaction that committed held its lock throughout, where
     * one that lost its connection or timed out while idle (a stall of this process) fails instead.
     */
    @Override
    public Uni<Lookup> readCurrent(String collection, String id, Runnable whileCurrent) {
        return timed(
                "read",
                guards.read(() -> pool.withTransaction(connection -> connection
                        .preparedQuery(READ_CURRENT)
                        .execute(Tuple.of(collection, id, (int) guards.timeout().toMillis()))
                        .map(rows -> {
                            Lookup lookup = rows.size() == 0
                                    ? Lookup.absent(collection, id, 0)
                                    : toLookup(collection, id, rows.iterator().next());
                            whileCurrent.run();
                            return lookup;
                        }))));
    }

    @Override
    public Uni<Many> readMany(String collection, List<String> ids, long maxBytes) {
        if (ids.isEmpty()) {
            return Uni.createFrom().item(new Many(Map.of(), List.of()));
        }
        Tuple args = Tuple.tuple()
                .addString(collection)
                .addArrayOfString(ids.toArray(String[]::new))
                .addLong(maxBytes);
        return timed(
                        "read_many",
                        guards.read(() -> pool.preparedQuery(READ_MANY).execute(args)))
                .map(rows -> {
                    Map<String, Lookup> found = new HashMap<>();
                    List<String> deferred = new ArrayList<>();
                    Set<String> deferredIds = new HashSet<>();
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
        return timed("list", guards.read(() -> pool.preparedQuery(LIST).execute(args)))
                .map(rows -> {
                    List<Document> documents = new ArrayList<>(Math.min(rows.size(), limit));
                    boolean more = false;
                    for (Row row : rows) {
                        Buffer body = row.getBuffer("body");
                        if (documents.size() == limit || body == null) {
                            more = true;
                            break;
                        }
                        documents.add(
                                new Document(collection, row.getString("id"), row.getLong("version"), body.getBytes()));
                    }
                    String lastId = more ? documents.get(documents.size() - 1).id() : null;
                    return new Page(documents, lastId);
                });
    }

    /**
     * Writes {@code next} ({@code null}: deletes) under the row lock, if the precondition holds: one
     * statement, one round trip (the function takes the lock, checks, draws the version, records the change).
     */
    private Uni<WriteResult> write(String collection, String id, Precondition precondition, byte[] next) {
        Tuple args = Tuple.tuple()
                .addString(collection)
                .addString(id)
                .addValue(next == null ? null : io.vertx.core.buffer.Buffer.buffer(next))
                .addBoolean(next == null)
                .addArrayOfLong(
                        precondition.ifMatch() == null
                                ? null
                                : precondition.ifMatch().toArray(Long[]::new))
                .addBoolean(precondition.ifMatchAny())
                .addArrayOfLong(
                        precondition.ifNoneMatch() == null
                                ? null
                                : precondition.ifNoneMatch().toArray(Long[]::new))
                .addBoolean(precondition.ifNoneMatchAny());
        return timed("write", guards.write(() -> pool.preparedQuery(WRITE).execute(args)))
                .map(rows -> {
                    Row row = rows.iterator().next();
                    return switch (row.getString("outcome")) {
                        case "ok" ->
                            new WriteResult(collection, id, row.getLong("version"), next, row.getBoolean("created"));
                        case "precondition" -> throw new StorageException.PreconditionFailed();
                        default -> throw new StorageException.NotFound();
                    };
                });
    }

    /** Times a storage call (its latency by operation and outcome: {@code strata_storage_queries_seconds}). */
    private <T> Uni<T> timed(String operation, Uni<T> call) {
        return Uni.createFrom().deferred(() -> {
            Timer.Sample sample = Timer.start(registry);
            return call.onTermination()
                    .invoke((item, failure, cancelled) -> sample.stop(registry.timer(
                            "strata.storage.queries",
                            "operation",
                            operation,
                            "outcome",
                            failure == null && !cancelled ? "ok" : "failed")));
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
