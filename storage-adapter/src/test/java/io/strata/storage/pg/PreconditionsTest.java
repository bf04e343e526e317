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

import java.util.Set;

import org.junit.jupiter.api.Test;

import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Precondition;
import io.strata.storage.StorageException;
import io.strata.storage.WriteResult;

/**
 * Preconditions are evaluated by storage against the committed current version inside the write's
 * transaction, before "not found" is decided; a write they refuse changes nothing.
 */
class PreconditionsTest {

    private static final Precondition IF_MATCH_ANY = new Precondition(null, true, null, false);
    private static final Precondition IF_NONE_MATCH_ANY = new Precondition(null, false, null, true);

    private final RealPostgres pg = RealPostgres.get();
    private final DocumentStore store = pg.documents;
    private final String collection = freshCollection();

    @Test
    void ifMatchWithTheCurrentVersionWritesAndWithAnotherChangesNothing() {
        WriteResult current = await(store.put(collection, "doc", json("{\"v\":1}"), Precondition.NONE));

        Throwable stale = failureOf(
                store.put(collection, "doc", json("{\"v\":\"stale\"}"), Precondition.ifMatch(current.version() - 1)));
        assertInstanceOf(StorageException.PreconditionFailed.class, stale);
        assertUnchanged("doc", current);

        WriteResult next =
                await(store.put(collection, "doc", json("{\"v\":2}"), Precondition.ifMatch(current.version())));
        assertTrue(next.version() > current.version());
        assertFalse(next.created());

        WriteResult deleted = await(
                store.delete(collection, "doc", new Precondition(Set.of(1L, next.version()), false, null, false)));
        assertTrue(deleted.deleted(), "If-Match with a list: any listed version");
    }

    @Test
    void ifNoneMatchAnyCreatesOnlyWhatDoesNotExist() {
        WriteResult created = await(store.put(collection, "new", json("{}"), IF_NONE_MATCH_ANY));
        assertTrue(created.created());

        assertInstanceOf(
                StorageException.PreconditionFailed.class,
                failureOf(store.put(collection, "new", json("{\"again\":true}"), IF_NONE_MATCH_ANY)));
        assertUnchanged("new", created);

        await(store.delete(collection, "new", Precondition.NONE));
        WriteResult recreated = await(store.put(collection, "new", json("{}"), IF_NONE_MATCH_ANY));
        assertTrue(recreated.created(), "a tombstone is not a document: If-None-Match * holds");
    }

    @Test
    void ifNoneMatchWithVersionsRefusesOnlyTheListedOnes() {
        WriteResult current = await(store.put(collection, "doc", json("{}"), Precondition.NONE));
        Precondition notCurrent = new Precondition(null, false, Set.of(current.version()), false);
        assertInstanceOf(
                StorageException.PreconditionFailed.class,
                failureOf(store.put(collection, "doc", json("[]"), notCurrent)));
        assertUnchanged("doc", current);

        Precondition notOlder = new Precondition(null, false, Set.of(current.version() - 1), false);
        assertTrue(await(store.put(collection, "doc", json("[]"), notOlder)).version() > current.version());
    }

    @Test
    void ifMatchAnyNeedsADocument() {
        assertInstanceOf(
                StorageException.PreconditionFailed.class,
                failureOf(store.put(collection, "missing", json("{}"), IF_MATCH_ANY)));
        assertEquals(0, await(store.read(collection, "missing")).version(), "nothing was created");

        WriteResult current = await(store.put(collection, "present", json("{}"), Precondition.NONE));
        assertTrue(await(store.put(collection, "present", json("[]"), IF_MATCH_ANY))
                        .version()
                > current.version());
    }

    @Test
    void preconditionsAreEvaluatedBeforeNotFound() {
        // a delete that names a version of a document that does not exist fails its precondition (412), not 404
        assertInstanceOf(
                StorageException.PreconditionFailed.class,
                failureOf(store.delete(collection, "missing", Precondition.ifMatch(7))));
        assertInstanceOf(
                StorageException.PreconditionFailed.class,
                failureOf(store.delete(collection, "missing", IF_MATCH_ANY)));
        // a precondition that holds for a missing document lets "not found" decide
        assertInstanceOf(
                StorageException.NotFound.class, failureOf(store.delete(collection, "missing", IF_NONE_MATCH_ANY)));
        assertInstanceOf(
                StorageException.NotFound.class, failureOf(store.delete(collection, "missing", Precondition.NONE)));

        WriteResult written = await(store.put(collection, "gone", json("{}"), Precondition.NONE));
        WriteResult deleted = await(store.delete(collection, "gone", Precondition.NONE));
        assertInstanceOf(
                StorageException.PreconditionFailed.class,
                failureOf(store.delete(collection, "gone", Precondition.ifMatch(written.version()))),
                "the deleted document's last version no longer matches");
        assertEquals(deleted.version(), await(store.read(collection, "gone")).version());
    }

    /** The document, and the change recorded for it, are still those of {@code last}. */
    private void assertUnchanged(String id, WriteResult last) {
        Lookup lookup = await(store.read(collection, id));
        assertEquals(last.version(), lookup.version());
        assertArrayEquals(last.body(), ((Lookup.Found) lookup).document().body());
        long recorded = pg.sql("SELECT version FROM document_changes WHERE collection = $1 AND id = $2", collection, id)
                .iterator()
                .next()
                .getLong("version");
        assertEquals(last.version(), recorded, "a refused write records no change");
    }
}
