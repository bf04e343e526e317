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
import java.util.concurrent.atomic.AtomicReference;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.strata.embedded.deployment.EmbeddedPostgres;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Precondition;
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
                    store.readCurrent(collection, "doc", lookup -> {}).subscribeAsCompletionStage();
            awaitWaitersForADocumentLock(1);
            writer.commit();
            Lookup current = read.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
            assertTrue(
                    current.version() > first.version(),
                    "the read took its snapshot after the lock, so it sees the write it waited for: " + current);
        }
    }

    /**
     * Runs {@code write} (with the collection as its one parameter) while a {@code readCurrent} of the
     * document holds its answer, checks that the write waits for the read, lets the read end, and
     * answers what the read handed out.
     */
    private Lookup assertWriteWaitsForTheRead(String collection, String id, String write) throws Exception {
        CountDownLatch handedOut = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Lookup> seen = new AtomicReference<>();
        CompletableFuture<Lookup> read = store.readCurrent(collection, id, lookup -> {
                    seen.set(lookup);
                    handedOut.countDown();
                    try {
                        release.await(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                })
                .subscribeAsCompletionStage();
        assertTrue(handedOut.await(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS), "the read handed out");
        CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
            try (Connection writer = jdbc()) {
                execute(writer, write, collection);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            awaitWaitersForADocumentLock(1);
            assertFalse(writing.isDone(), "the write waits while the read hands its answer out");
        } finally {
            release.countDown();
        }
        read.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
        writing.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
        return seen.get();
    }

    private void awaitWaitersForADocumentLock(int waiters) {
        Awaitility.await(waiters + " waiting for a document's lock")
                .atMost(RealPostgres.WAIT)
                .pollInterval(Duration.ofMillis(10))
                .until(() -> {
                    try (Connection inspector = jdbc();
                            ResultSet rows = inspector
                                    .createStatement()
                                    .executeQuery(
                                            "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory' AND classid = 21364")) {
                        rows.next();
                        return rows.getInt(1) == waiters;
                    }
                });
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
