package io.strata.storage.pg;

import static io.strata.storage.pg.RealPostgres.await;
import static io.strata.storage.pg.RealPostgres.failureOf;
import static io.strata.storage.pg.RealPostgres.freshCollection;
import static io.strata.storage.pg.RealPostgres.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.strata.storage.ChangeLog;
import io.strata.storage.ChangeLog.Change;
import io.strata.storage.DocumentStore;
import io.strata.storage.Precondition;
import io.strata.storage.StorageException;
import io.strata.storage.WriteResult;

/** The change log: every committed write recorded with its document, found again until confirmed. */
class ChangeLogTest {

    private final RealPostgres pg = RealPostgres.get();
    private final DocumentStore store = pg.documents;
    private final ChangeLog log = pg.changes;
    private final String collection = freshCollection();

    @BeforeEach
    void forgetOtherTestsChanges() {
        pg.sql("TRUNCATE document_changes");
    }

    @Test
    void everyCommittedWriteRecordsItsChangeAndARefusedOneRecordsNone() {
        WriteResult created = await(store.put(collection, "doc", json("{}"), Precondition.NONE));
        assertEquals(List.of(new Change(collection, "doc", created.version())), unconfirmed());

        WriteResult replaced = await(store.put(collection, "doc", json("[]"), Precondition.NONE));
        assertEquals(List.of(new Change(collection, "doc", replaced.version())), unconfirmed(),
                "one entry per document, at its latest version");

        assertInstanceOf(StorageException.PreconditionFailed.class,
                failureOf(store.put(collection, "doc", json("1"), Precondition.ifMatch(created.version()))));
        assertInstanceOf(StorageException.NotFound.class, failureOf(store.delete(collection, "other", Precondition.NONE)));
        assertEquals(List.of(new Change(collection, "doc", replaced.version())), unconfirmed());

        WriteResult deleted = await(store.delete(collection, "doc", Precondition.NONE));
        assertEquals(List.of(new Change(collection, "doc", deleted.version())), unconfirmed(), "a deletion is a change too");
    }

    @Test
    void unconfirmedAnswersChangesOlderThanAskedOldestFirstUpToTheLimit() {
        long a = await(store.put(collection, "a", json("{}"), Precondition.NONE)).version();
        long b = await(store.put(collection, "b", json("{}"), Precondition.NONE)).version();
        long c = await(store.put(collection, "c", json("{}"), Precondition.NONE)).version();
        // recorded hours ago instead of waiting for them to be
        backdate("a", 3);
        backdate("b", 2);

        assertEquals(List.of(new Change(collection, "a", a), new Change(collection, "b", b)),
                await(log.unconfirmed(Duration.ofHours(1), 10)), "c was recorded less than an hour ago");
        assertEquals(List.of(new Change(collection, "a", a)), await(log.unconfirmed(Duration.ofHours(1), 1)));
        assertEquals(List.of(new Change(collection, "a", a), new Change(collection, "b", b), new Change(collection, "c", c)),
                unconfirmed());
    }

    @Test
    void confirmingAChangeRemovesOnlyThatVersion() {
        WriteResult first = await(store.put(collection, "doc", json("{}"), Precondition.NONE));
        WriteResult second = await(store.put(collection, "doc", json("[]"), Precondition.NONE));

        // a consumer that saw the first change confirms it after the second was recorded
        await(log.confirm(List.of(new Change(collection, "doc", first.version()))));
        assertEquals(List.of(new Change(collection, "doc", second.version())), unconfirmed(), "the newer change stays");

        await(log.confirm(List.of()));
        await(log.confirm(List.of(new Change(collection, "doc", second.version()))));
        assertTrue(unconfirmed().isEmpty());
    }

    @Test
    void anAnnouncementReachesEveryListener() {
        ConcurrentLinkedQueue<Change> heard = new ConcurrentLinkedQueue<>();
        log.onAnnouncement(heard::add);
        Change change = new Change(collection, "id with spaces/and slashes", 42);
        await(log.announce(change));
        Awaitility.await().atMost(RealPostgres.WAIT).until(() -> heard.contains(change));
    }

    private List<Change> unconfirmed() {
        return await(log.unconfirmed(Duration.ZERO, 100));
    }

    private void backdate(String id, int hours) {
        pg.sql("UPDATE document_changes SET recorded_at = now() - make_interval(hours => $3) WHERE collection = $1 AND id = $2",
                collection, id, hours);
    }
}
