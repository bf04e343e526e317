package io.strata.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.strata.testing.History.Kind;

/** The checker itself: it accepts what the invariant allows and catches what it forbids. */
class HistoryCheckerTest {

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
}
