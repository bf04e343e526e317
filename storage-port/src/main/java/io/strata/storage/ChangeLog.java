package io.strata.storage;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import io.smallrye.mutiny.Uni;

/**
 * The changes storage committed, for consumers that must act on every one of them. Every write of
 * a {@link DocumentStore} records its change in the same transaction as the document; the change
 * stays recorded until a consumer confirms it.
 */
public interface ChangeLog {

    /** One committed write: the document's identity and the version it produced. */
    record Change(String collection, String id, long version) {}

    /**
     * Changes recorded longer ago than {@code olderThan} and not confirmed yet, in the order of their
     * documents, after {@code after} (the last change of the previous page; {@code null} for the first).
     */
    Uni<List<Change>> unconfirmed(Duration olderThan, Change after, int limit);

    /** Whether this change, or a later one of the same document, is still unconfirmed: false once it is confirmed. */
    Uni<Boolean> pending(Change change);

    /** Forgets these changes (a newer change of the same document stays recorded). */
    Uni<Void> confirm(List<Change> changes);

    /** Tells every listener, on every instance, that this change needs attention. */
    Uni<Void> announce(Change change);

    /**
     * Receives announcements made by any instance (including this one); {@code resubscribed} runs each
     * time the announcements are received again after an interruption, during which some may have
     * been missed.
     */
    void onAnnouncement(Consumer<Change> listener, Runnable resubscribed);
}
