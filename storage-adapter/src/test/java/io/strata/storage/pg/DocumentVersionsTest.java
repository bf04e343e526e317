package io.strata.storage.pg;

import static io.strata.storage.pg.RealPostgres.await;
import static io.strata.storage.pg.RealPostgres.failureOf;
import static io.strata.storage.pg.RealPostgres.freshCollection;
import static io.strata.storage.pg.RealPostgres.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.smallrye.mutiny.Uni;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Precondition;
import io.strata.storage.StorageException;
import io.strata.storage.WriteResult;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Transaction;
import io.vertx.mutiny.sqlclient.Tuple;

/** Versions: drawn under the row lock, growing in commit order, kept by tombstones. */
class DocumentVersionsTest {

    private final RealPostgres pg = RealPostgres.get();
    private final DocumentStore store = pg.documents;

    @Test
    void aWriterWaitingForTheRowLockDrawsItsVersionOnlyOnceItHoldsTheLock() throws Exception {
        String collection = freshCollection();
        WriteResult first = await(store.put(collection, "doc", json("{\"n\":0}"), Precondition.NONE));

        // another transaction holds the row lock, as a concurrent writer of the same id would
        SqlConnection holder = await(pg.pool.getConnection());
        CompletableFuture<WriteResult> waiting;
        WriteResult meanwhile;
        try {
            Transaction transaction = await(holder.begin());
            await(holder.preparedQuery("SELECT 1 FROM documents WHERE collection = $1 AND id = $2 FOR UPDATE")
                    .execute(Tuple.of(collection, "doc")));
            waiting = store.put(collection, "doc", json("{\"n\":1}"), Precondition.NONE)
                    .subscribeAsCompletionStage();
            Awaitility.await("the writer waits for the row lock")
                    .atMost(RealPostgres.WAIT)
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> pg.sql("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                            + "AND query LIKE '%strata_write(%'")
                                    .iterator()
                                    .next()
                                    .getLong("n")
                            == 1);
            // a write of another document commits while the first writer waits
            meanwhile = await(store.put(collection, "other", json("{}"), Precondition.NONE));
            assertFalse(waiting.isDone(), "the writer is still waiting for the lock");
            await(transaction.commit());
        } finally {
            holder.closeAndForget();
        }

        WriteResult late = waiting.get(RealPostgres.WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(meanwhile.version() > first.version());
        assertTrue(
                late.version() > meanwhile.version(),
                "the waiting writer drew its version after the write that committed while it waited");
        assertEquals(late.version(), await(store.read(collection, "doc")).version());
    }

    @Test
    void concurrentWritersOfOneIdGetDistinctVersionsAndTheLastToCommitHoldsTheHighest() {
        String collection = freshCollection();
        int writers = 16;
        List<Uni<WriteResult>> writes = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
            writes.add(store.put(collection, "contended", json("{\"writer\":" + i + "}"), Precondition.NONE));
        }
        List<WriteResult> results = Uni.join().all(writes).andFailFast().await().atMost(RealPostgres.WAIT);

        Set<Long> versions = new HashSet<>();
        results.forEach(result -> versions.add(result.version()));
        assertEquals(writers, versions.size(), "every write has its own version");
        assertEquals(
                1,
                results.stream().filter(WriteResult::created).count(),
                "one writer created the document; the others lost the creation race and replaced it under the lock");

        WriteResult highest = results.stream()
                .max(Comparator.comparingLong(WriteResult::version))
                .orElseThrow();
        Lookup stored = await(store.read(collection, "contended"));
        assertEquals(highest.version(), stored.version());
        assertArrayEquals(
                highest.body(),
                ((Lookup.Found) stored).document().body(),
                "the write that committed last is the one with the highest version");
    }

    @Test
    void aDeletionLeavesATombstoneWithItsVersionAndALaterCreateGetsAHigherOne() {
        String collection = freshCollection();
        WriteResult created = await(store.put(collection, "doc", json("{\"v\":1}"), Precondition.NONE));
        assertTrue(created.created());

        WriteResult deleted = await(store.delete(collection, "doc", Precondition.NONE));
        assertTrue(deleted.deleted());
        assertTrue(deleted.version() > created.version());
        Lookup tombstone = await(store.read(collection, "doc"));
        assertInstanceOf(Lookup.Absent.class, tombstone);
        assertEquals(deleted.version(), tombstone.version(), "a 404 carries the deletion's version");
        assertEquals(
                deleted.version(),
                await(store.readMany(collection, List.of("doc"), 1024))
                        .lookups()
                        .get("doc")
                        .version());
        assertTrue(await(store.list(collection, null, 10, 1024)).documents().isEmpty(), "pages skip tombstones");

        assertInstanceOf(
                StorageException.NotFound.class, failureOf(store.delete(collection, "doc", Precondition.NONE)));
        assertEquals(
                deleted.version(), await(store.read(collection, "doc")).version(), "a refused delete changes nothing");

        WriteResult recreated = await(store.put(collection, "doc", json("{\"v\":2}"), Precondition.NONE));
        assertTrue(recreated.created(), "a document under a tombstone does not exist");
        assertTrue(recreated.version() > deleted.version());
        assertEquals(recreated.version(), await(store.read(collection, "doc")).version());
    }

    @Test
    void anIdNeverWrittenIsAbsentWithVersionZero() {
        Lookup never = await(store.read(freshCollection(), "never"));
        assertInstanceOf(Lookup.Absent.class, never);
        assertEquals(0, never.version());
    }
}
