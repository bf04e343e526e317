package io.strata.storage.pg;

import static io.strata.storage.pg.RealPostgres.await;
import static io.strata.storage.pg.RealPostgres.failureOf;
import static io.strata.storage.pg.RealPostgres.freshCollection;
import static io.strata.storage.pg.RealPostgres.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        assertEquals(
                List.of(new Change(collection, "doc", replaced.version())),
                unconfirmed(),
                "one entry per document, at its latest version");

        assertInstanceOf(
                StorageException.PreconditionFailed.class,
                failureOf(store.put(collection, "doc", json("1"), Precondition.ifMatch(created.version()))));
        assertInstanceOf(
                StorageException.NotFound.class, failureOf(store.delete(collection, "other", Precondition.NONE)));
        assertEquals(List.of(new Change(collection, "doc", replaced.version())), unconfirmed());

        WriteResult deleted = await(store.delete(collection, "doc", Precondition.NONE));
        assertEquals(
                List.of(new Change(collection, "doc", deleted.version())), unconfirmed(), "a deletion is a change too");
    }

    @Test
    void unconfirmedAnswersChangesOlderThanAskedInPagesOfTheAskedSize() {
        long a =
                await(store.put(collection, "a", json("{}"), Precondition.NONE)).version();
        long b =
                await(store.put(collection, "b", json("{}"), Precondition.NONE)).version();
        long c =
                await(store.put(collection, "c", json("{}"), Precondition.NONE)).version();
        // recorded hours ago instead of waiting for them to be
        backdate("a", 3);
        backdate("b", 2);

        assertEquals(
                List.of(new Change(collection, "a", a), new Change(collection, "b", b)),
                mine(Duration.ofHours(1), null, 1000),
                "c was recorded less than an hour ago");
        // pages continue after the last change of the previous one, however many changes are stuck before it
        List<Change> first = mine(Duration.ZERO, null, 1000).subList(0, 1);
        assertEquals(List.of(new Change(collection, "a", a)), first);
        assertEquals(
                List.of(new Change(collection, "b", b), new Change(collection, "c", c)),
                mine(Duration.ZERO, first.get(0), 1000));
    }

    @Test
    void aChangeIsPendingUntilItOrALaterOneIsConfirmed() {
        WriteResult first = await(store.put(collection, "p", json("{}"), Precondition.NONE));
        Change change = new Change(collection, "p", first.version());
        assertTrue(await(log.pending(change)));
        WriteResult second = await(store.put(collection, "p", json("[]"), Precondition.NONE));
        assertTrue(await(log.pending(change)), "a later change of the document is still unconfirmed");
        await(log.confirm(List.of(new Change(collection, "p", second.version()))));
        assertFalse(await(log.pending(change)));
    }

    /** This test's changes among the unconfirmed ones (other tests' collections are skipped). */
    private List<Change> mine(Duration olderThan, Change after, int limit) {
        return await(log.unconfirmed(olderThan, after, limit)).stream()
                .filter(ch -> ch.collection().equals(collection))
                .toList();
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
        log.onAnnouncement(heard::add, () -> {});
        Change change = new Change(collection, "id with spaces/and slashes", 42);
        await(log.announce(change));
        Awaitility.await().atMost(RealPostgres.WAIT).until(() -> heard.contains(change));
    }

    private List<Change> unconfirmed() {
        return mine(Duration.ZERO, null, 1000);
    }

    private void backdate(String id, int hours) {
        pg.sql(
                "UPDATE document_changes SET recorded_at = now() - make_interval(hours => $3) WHERE collection = $1 AND id = $2",
                collection,
                id,
                hours);
    }
}
