package io.strata.storage.pg;

import static io.strata.storage.pg.RealPostgres.await;
import static io.strata.storage.pg.RealPostgres.freshCollection;
import static io.strata.storage.pg.RealPostgres.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.strata.embedded.deployment.EmbeddedPostgres;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Precondition;
import io.strata.storage.StorageUnavailableException;
import io.strata.storage.WriteResult;

/**
 * {@link DocumentStore#readCurrent}: no write of the document commits between the read and the end of
 * its {@code whileCurrent}, whichever statement writes (this release's function, the previous
 * release's plain SQL), and a write that committed while the read waited is in what it reads.
 * Writers and inspection go through JDBC: the read blocks one event loop on purpose.
 */
class ReadsThatStayCurrentTest {

    private final RealPostgres pg = RealPostgres.get();
    private final DocumentStore store = pg.documents;

    @Test
    void aReplacementWaitsUntilTheReadHasHandedItsAnswerOut() throws Exception {
        String collection = freshCollection();
        WriteResult first = await(store.put(collection, "doc", json("{\"n\":0}"), Precondition.NONE));
        Lookup handedOut = assertWriteWaitsForTheRead(
                collection,
                "doc",
                "SELECT outcome FROM strata_write(?, 'doc', convert_to('{\"n\":1}', 'UTF8'), false, NULL, false, NULL, false)");
        assertEquals(first.version(), handedOut.version());
        assertTrue(await(store.read(collection, "doc")).version() > first.version());
    }

    @Test
    void aCreationByThePreviousReleasesStatementWaitsToo() throws Exception {
        String collection = freshCollection();
        Lookup handedOut = assertWriteWaitsForTheRead(
                collection,
                "new",
                "INSERT INTO documents (collection, id, version, body) "
                        + "VALUES (?, 'new', nextval('strata_version_seq'), convert_to('{}', 'UTF8'))");
        assertInstanceOf(Lookup.Absent.class, handedOut, "the read handed out the absence it saw");
        assertInstanceOf(Lookup.Found.class, await(store.read(collection, "new")));
    }

    @Test
    void aDeletionWaitsToo() throws Exception {
        String collection = freshCollection();
        WriteResult first = await(store.put(collection, "gone", json("{}"), Precondition.NONE));
        Lookup handedOut = assertWriteWaitsForTheRead(
                collection, "gone", "DELETE FROM documents WHERE collection = ? AND id = 'gone'");
        assertEquals(first.version(), handedOut.version());
        assertInstanceOf(Lookup.Found.class, handedOut);
    }

    @Test
    void aWriteThatCommitsWhileTheReadWaitsForItIsRead() throws Exception {
        String collection = freshCollection();
        WriteResult first = await(store.put(collection, "doc", json("{\"n\":0}"), Precondition.NONE));
        try (Connection writer = jdbc()) {
            writer.setAutoCommit(false);
            // the writer holds the document's lock (its row changed, not committed yet)
            execute(
                    writer,
                    "UPDATE documents SET version = nextval('strata_version_seq') WHERE collection = ? AND id = 'doc'",
                    collection);
            CompletableFuture<Lookup> read =
                    store.readCurrent(collection, "doc", () -> {}).subscribeAsCompletionStage();
            awaitWaitersForADocumentLock(1);
            writer.commit();
            Lookup current = read.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
            assertTrue(
                    current.version() > first.version(),
                    "the read took its snapshot after the lock, so it sees the write it waited for: " + current);
        }
    }

    @Test
    void aReadThatLosesItsHoldNeverAnswersWhatItReadBeforeAWriteCommitted() throws Exception {
        String collection = freshCollection();
        WriteResult first = await(store.put(collection, "doc", json("{\"n\":0}"), Precondition.NONE));
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Lookup> read = store.readCurrent(collection, "doc", () -> hold(holding, release))
                .subscribeAsCompletionStage();
        assertTrue(holding.await(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS), "the read holds");
        long newer;
        try (Connection admin = jdbc()) {
            // the reader's connection is lost while it takes requests (a pooler restart, a failover): its
            // lock goes with it, and a write commits
            try (ResultSet killed = admin.createStatement()
                    .executeQuery("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                            + "AND classid = 21364 AND granted AND mode = 'ShareLock'")) {
                assertTrue(killed.next(), "the reader's backend");
            }
            try (PreparedStatement write = admin.prepareStatement("SELECT version FROM strata_write(?, 'doc', "
                    + "convert_to('{\"n\":1}', 'UTF8'), false, NULL, false, NULL, false)")) {
                write.setString(1, collection);
                try (ResultSet written = write.executeQuery()) {
                    written.next();
                    newer = written.getLong(1);
                }
            }
        } finally {
            release.countDown();
        }
        try {
            Lookup answered = read.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
            // answered by a retry, which held the lock again and read again
            assertTrue(
                    answered.version() >= newer,
                    "read version " + answered.version() + " after " + newer + " committed (first " + first.version()
                            + ")");
        } catch (java.util.concurrent.ExecutionException failedInstead) {
            // or not answered at all: as good
        }
    }

    @Test
    void aReadWaitingLongerThanItsTimeoutStopsWaitingOnTheServerToo() throws Exception {
        String collection = freshCollection();
        await(store.put(collection, "doc", json("{}"), Precondition.NONE));
        try (Connection writer = jdbc();
                Connection inspector = jdbc()) {
            writer.setAutoCommit(false);
            execute(
                    writer,
                    "UPDATE documents SET version = nextval('strata_version_seq') WHERE collection = ? AND id = 'doc'",
                    collection);
            // the writer keeps the document's lock past the read's timeout (strata.storage.timeout)
            Throwable failure = RealPostgres.failureOf(store.readCurrent(collection, "doc", () -> {}));
            assertInstanceOf(StorageUnavailableException.class, failure, "answered as storage unavailable");
            // the server gives up too (lock_timeout), while the writer still holds the lock
            Awaitility.await("nobody waits for the lock any more")
                    .atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> waiting(inspector, "classid = 21364") == 0);
            writer.rollback();
        }
    }

    @Test
    void concurrentCreatorsAndWritersOfOneDocumentNeverDeadlock() throws Exception {
        for (int round = 0; round < 20; round++) {
            String collection = freshCollection();
            java.util.List<CompletableFuture<WriteResult>> writes = new java.util.ArrayList<>();
            for (int writer = 0; writer < 6; writer++) {
                writes.add(store.put(collection, "contended", json("{\"w\":" + writer + "}"), Precondition.NONE)
                        .subscribeAsCompletionStage());
            }
            for (CompletableFuture<WriteResult> write : writes) {
                write.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS); // a deadlock fails one of them
            }
        }
    }

    @Test
    void aBulkChangeTakesOneLockHoweverManyRowsItChanges() throws Exception {
        String collection = freshCollection();
        try (Connection bulk = jdbc()) {
            bulk.setAutoCommit(false);
            bulk.createStatement().execute("SET LOCAL strata.bulk_write = on");
            execute(
                    bulk,
                    "INSERT INTO documents (collection, id, version, body) SELECT ?, 'd' || g, "
                            + "nextval('strata_version_seq'), convert_to('{}', 'UTF8') FROM generate_series(1, 30000) g",
                    collection);
            try (ResultSet held = bulk.createStatement()
                    .executeQuery(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")) {
                held.next();
                assertEquals(1, held.getInt(1), "advisory locks held by the bulk change");
            }
            // a shared read waits for the bulk change as for any write
            CompletableFuture<Lookup> read =
                    store.readCurrent(collection, "d1", () -> {}).subscribeAsCompletionStage();
            try (Connection inspector = jdbc()) {
                Awaitility.await("the read waits for the bulk change")
                        .atMost(RealPostgres.WAIT)
                        .pollInterval(Duration.ofMillis(10))
                        .until(() -> waiting(inspector, "classid = 21365") == 1);
            }
            bulk.commit();
            assertInstanceOf(Lookup.Found.class, read.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS));
        }
    }

    /**
     * Runs {@code write} (with the collection as its one parameter) while a {@code readCurrent} of the
     * document holds its answer, checks that the write waits for the read, lets the read end, and
     * answers what the read handed out.
     */
    private Lookup assertWriteWaitsForTheRead(String collection, String id, String write) throws Exception {
        // connections opened before the read: while it holds, it is idle in its transaction, which
        // PostgreSQL ends after 1 s, so the hold does no more than start the write and look at the locks
        try (Connection writer = jdbc();
                Connection inspector = jdbc()) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Lookup> read = store.readCurrent(collection, id, () -> hold(holding, release))
                    .subscribeAsCompletionStage();
            assertTrue(holding.await(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS), "the read holds");
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try {
                    execute(writer, write, collection);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            try {
                Awaitility.await("the write waits for the document's lock")
                        .atMost(RealPostgres.WAIT)
                        .pollInterval(Duration.ofMillis(5))
                        .until(() -> waiting(inspector, "classid = 21364") == 1);
                assertFalse(writing.isDone(), "the write waits while the read takes requests");
            } finally {
                release.countDown();
            }
            Lookup answered = read.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
            writing.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
            return answered;
        }
    }

    /** Blocks the read's event loop in {@code whileCurrent} until {@code release}, on purpose. */
    private static void hold(CountDownLatch holding, CountDownLatch release) {
        holding.countDown();
        try {
            release.await(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void awaitWaitersForADocumentLock(int waiters) throws SQLException {
        try (Connection inspector = jdbc()) {
            Awaitility.await(waiters + " waiting for a document's lock")
                    .atMost(RealPostgres.WAIT)
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> waiting(inspector, "classid = 21364") == waiters);
        }
    }

    /** Sessions waiting for a Strata advisory lock matching {@code condition}. */
    private static int waiting(Connection inspector, String condition) throws SQLException {
        try (ResultSet rows = inspector
                .createStatement()
                .executeQuery(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory' AND " + condition)) {
            rows.next();
            return rows.getInt(1);
        }
    }

    private Connection jdbc() throws SQLException {
        return DriverManager.getConnection(pg.server.jdbcUrl(), EmbeddedPostgres.USER, pg.server.password());
    }

    private static void execute(Connection connection, String sql, String collection) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, collection);
            statement.execute();
        }
    }
}
