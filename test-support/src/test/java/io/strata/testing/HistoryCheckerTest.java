package io.strata.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.strata.testing.History.Kind;

/** The checker itself: it accepts what the invariant allows and catches what it forbids. */
class HistoryCheckerTest {

    private static final Duration BOUND = Duration.ofNanos(100);

    @Test
    void acceptsReadsOverlappingAWrite() {
        History history = new History();
        history.record(Kind.PUT, "k", 1, 0, 10);
        history.record(Kind.PUT, "k", 2, 20, 30);
        history.record(Kind.READ, "k", 1, 25, 40); // began before v2 was acknowledged
        history.record(Kind.READ, "k", 2, 31, 40);
        assertTrue(history.violations().isEmpty());
    }

    @Test
    void catchesAReadOlderThanAnAcknowledgedWrite() {
        History history = new History();
        history.record(Kind.PUT, "k", 1, 0, 10);
        history.record(Kind.PUT, "k", 2, 20, 30);
        history.record(Kind.READ, "k", 1, 31, 40);
        assertEquals(1, history.violations().size());
    }

    @Test
    void catchesANotFoundAfterAnAcknowledgedCreate() {
        History history = new History();
        history.record(Kind.PUT, "k", 5, 0, 10);
        history.record(Kind.READ, "k", History.ABSENT, 11, 12);
        assertEquals(1, history.violations().size());
    }

    @Test
    void catchesADeletedDocumentComingBack() {
        History history = new History();
        history.record(Kind.PUT, "k", 5, 0, 10);
        history.record(Kind.DELETE, "k", 0, 20, 30);
        history.record(Kind.READ, "k", 5, 31, 32);
        assertEquals(1, history.violations().size());
    }

    @Test
    void acceptsNotFoundAfterADeleteAndAVersionNeverWrittenIsCaught() {
        History history = new History();
        history.record(Kind.PUT, "k", 5, 0, 10);
        history.record(Kind.DELETE, "k", 0, 20, 30);
        history.record(Kind.READ, "k", History.ABSENT, 31, 32);
        history.record(Kind.READ, "k", 5, 25, 35); // concurrent with the delete
        assertTrue(history.violations().isEmpty());
        history.record(Kind.READ, "k", 6, 40, 41);
        assertEquals(1, history.violations().size());
    }

    @Test
    void anUnacknowledgedWriteMayOrMayNotBeSeen() {
        History history = new History();
        history.record(Kind.PUT, "k", 1, 0, 10);
        history.record(Kind.UNACKNOWLEDGED_PUT, "k", 2, 20, 30); // a 503 committed-not-visible naming v2
        history.record(Kind.READ, "k", 1, 40, 41);
        history.record(Kind.READ, "k", 2, 25, 42);
        history.record(Kind.READ, "k", 1, 50, 51);
        assertTrue(history.violations().isEmpty(), history.violations().toString());
    }

    @Test
    void aMaxStaleReadMayAnswerAVersionWithinItsBound() {
        History history = new History();
        history.record(Kind.PUT, "k", 1, 0, 10);
        history.record(Kind.PUT, "k", 2, 20, 30);
        // v2 was acknowledged 70 before the read began: less than the bound of 100
        history.readAcceptingStaleness("k", 1, 100, 110, BOUND, "");
        // a strict read at the same time may not
        assertTrue(history.violations().isEmpty(), history.violations().toString());
        history.record(Kind.READ, "k", 1, 100, 110);
        assertEquals(1, history.violations().size());
    }

    @Test
    void aMaxStaleReadOlderThanItsBoundIsCaught() {
        History history = new History();
        history.record(Kind.PUT, "k", 1, 0, 10);
        history.record(Kind.PUT, "k", 2, 20, 30);
        // v2 was acknowledged 101 before the read began: past the bound
        history.readAcceptingStaleness("k", 1, 131, 140, BOUND, "");
        assertEquals(1, history.violations().size());
        assertTrue(
                history.violations().get(0).contains("max-stale"),
                history.violations().get(0));
    }

    @Test
    void aMaxStaleNotFoundIsHeldToItsBoundToo() {
        History created = new History();
        created.record(Kind.PUT, "k", 5, 0, 10);
        created.readAcceptingStaleness("k", History.ABSENT, 50, 60, BOUND, ""); // created 40 before: within
        assertTrue(created.violations().isEmpty(), created.violations().toString());
        created.readAcceptingStaleness("k", History.ABSENT, 111, 120, BOUND, ""); // 101 before: past it
        assertEquals(1, created.violations().size());

        History deleted = new History();
        deleted.record(Kind.PUT, "k", 5, 0, 10);
        deleted.record(Kind.DELETE, "k", 0, 20, 30);
        deleted.readAcceptingStaleness("k", 5, 90, 95, BOUND, ""); // deleted 60 before: within
        assertTrue(deleted.violations().isEmpty(), deleted.violations().toString());
        deleted.readAcceptingStaleness("k", 5, 131, 135, BOUND, ""); // deleted 101 before: past it
        assertEquals(1, deleted.violations().size());
    }

    @Test
    void batchAnswersAreReadsOfEachDocumentButUnprocessedIdsAreNot() {
        History history = new History();
        history.record(Kind.PUT, "a", 1, 0, 10);
        history.record(Kind.PUT, "a", 2, 20, 30);
        history.record(Kind.PUT, "b", 7, 0, 10);
        history.record(Kind.PUT, "c", 3, 0, 10);
        // a at v2, b missing although acknowledged, c unprocessed (never read)
        Workload.recordBatch(
                history,
                "{\"found\":[{\"id\":\"a\",\"version\":2,\"doc\":{\"x\":1}}],"
                        + "\"missing\":[\"b\"],\"unprocessed\":[\"c\"]}",
                40,
                50,
                "batch");
        assertEquals(2, history.count(Kind.READ));
        assertEquals(1, history.violations().size());
        assertTrue(
                history.violations().get(0).startsWith("404 after acknowledged write PUT b"),
                history.violations().get(0));

        History older = new History();
        older.record(Kind.PUT, "a", 1, 0, 10);
        older.record(Kind.PUT, "a", 2, 20, 30);
        Workload.recordBatch(
                older,
                "{\"found\":[{\"id\":\"a\",\"version\":1,\"doc\":{}}],\"missing\":[],\"unprocessed\":[]}",
                40,
                50,
                "batch");
        assertEquals(1, older.violations().size());
        Workload.recordBatch(older, "{\"found\":[],\"missing\":[],\"unprocessed\":[\"a\"]}", 60, 70, "batch");
        assertEquals(1, older.count(Kind.READ));
    }
}
