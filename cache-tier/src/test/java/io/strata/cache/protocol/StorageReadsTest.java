package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.Timer;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.mutiny.subscription.Cancellable;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Transaction;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Reads that cannot use Redis share one storage read per document ({@link StorageReads}), however late
 * in it a request arrives, and still answer every write committed before the request arrived.
 */
@QuarkusTest
class StorageReadsTest extends ProtocolTest {

    @Inject
    DocumentStore store;

    @Inject
    Pool pool;

    @Test
    void requestsArrivingWhileAReadWaitsShareItAndGetTheWriteItWaitedFor() throws Exception {
        String c = newCollection("shared");
        long v1 = put(c, "doc", "{\"v\":1}");
        StorageReads reads = new StorageReads(store);
        SqlConnection writer = pool.getConnection().await().atMost(WAIT);
        try {
            // a writer that has changed the row and not committed yet holds the document's lock
            Transaction transaction = writer.begin().await().atMost(WAIT);
            long v2 = writer.preparedQuery("UPDATE documents SET version = nextval('strata_version_seq') "
                            + "WHERE collection = $1 AND id = $2 RETURNING version")
                    .execute(Tuple.of(c, "doc"))
                    .await()
                    .atMost(WAIT)
                    .iterator()
                    .next()
                    .getLong("version");
            double readsBefore = storageReads();

            // the first request starts the read (which waits for the writer); its client goes away
            Cancellable first = reads.read(c, "doc").subscribe().with(lookup -> {}, failure -> {});
            Awaitility.await("the read waits for the writer").atMost(WAIT).until(() -> waitingForADocumentLock() == 1);
            first.cancel();
            // every later request joins the waiting read
            List<CompletableFuture<Lookup>> joined = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                joined.add(reads.read(c, "doc").subscribeAsCompletionStage());
            }
            transaction.commit().await().atMost(WAIT);

            for (CompletableFuture<Lookup> answer : joined) {
                Lookup lookup = answer.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(v2, lookup.version(), "the write committed before the read took its lock (v1 " + v1 + ")");
            }
            assertEquals(1, storageReads() - readsBefore, "storage reads for 51 requests");
        } finally {
            writer.close().await().atMost(WAIT);
        }
        // the read no longer takes requests: the next one reads again
        double before = storageReads();
        assertTrue(reads.read(c, "doc").await().atMost(WAIT).version() > v1);
        assertEquals(1, storageReads() - before);
    }

    private int waitingForADocumentLock() {
        return pool.preparedQuery("SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND locktype = 'advisory' "
                        + "AND classid = 21364")
                .execute()
                .await()
                .atMost(WAIT)
                .iterator()
                .next()
                .getInteger("n");
    }

    private double storageReads() {
        Timer timer = registry.find("strata.storage.queries")
                .tags("operation", "read", "outcome", "ok")
                .timer();
        return timer == null ? 0 : timer.count();
    }
}
