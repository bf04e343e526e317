package io.strata.storage.pg;

import static io.strata.storage.pg.RealPostgres.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.strata.storage.ApiKeyStore;
import io.strata.storage.ApiKeyStore.StoredKey;

/** API keys stored as hashes; revocations kept and announced to every instance. */
class ApiKeyStoreTest {

    private final RealPostgres pg = RealPostgres.get();
    private final ApiKeyStore keys = pg.keys;

    @Test
    void aCreatedKeyIsFoundByItsHash() {
        String hash = unique("hash");
        StoredKey created =
                await(keys.create(unique("id"), "reader", hash, List.of("read:notes", "write:notes/*"), 50));

        assertEquals("reader", created.name());
        assertEquals(hash, created.hash());
        assertEquals(List.of("read:notes", "write:notes/*"), created.scopes());
        assertEquals(50, created.rateLimit());
        assertNotNull(created.createdAt());
        assertFalse(created.revoked());
        assertEquals(created, await(keys.findByHash(hash)));
        assertNull(await(keys.findByHash(unique("unknown"))));
    }

    @Test
    void creatingAnExistingHashLeavesTheStoredKeyAsItIs() {
        String hash = unique("hash");
        StoredKey first = await(keys.create(unique("id"), "first", hash, List.of("admin"), 0));
        StoredKey again = await(keys.create(unique("id"), "second", hash, List.of("read:x"), 5));
        assertEquals(first, again);
        assertEquals(
                1,
                await(keys.list()).stream()
                        .filter(key -> key.hash().equals(hash))
                        .count());
    }

    @Test
    void listAnswersNewestFirst() {
        StoredKey older = await(keys.create(unique("id"), "older", unique("hash"), List.of("admin"), 0));
        StoredKey newer = await(keys.create(unique("id"), "newer", unique("hash"), List.of("admin"), 0));
        List<String> ids = await(keys.list()).stream()
                .map(StoredKey::id)
                .filter(id -> id.equals(older.id()) || id.equals(newer.id()))
                .toList();
        assertEquals(List.of(newer.id(), older.id()), ids);
    }

    @Test
    void aRevocationIsKeptAndAnnounced() {
        ConcurrentLinkedQueue<String> announced = new ConcurrentLinkedQueue<>();
        keys.onRevocation(announced::add);
        String hash = unique("hash");
        StoredKey key = await(keys.create(unique("id"), "soon revoked", hash, List.of("admin"), 0));

        StoredKey revoked = await(keys.revoke(key.id()));
        assertTrue(revoked.revoked());
        assertEquals(revoked, await(keys.findByHash(hash)));
        Awaitility.await("the revocation reaches the listener")
                .atMost(RealPostgres.WAIT)
                .until(() -> announced.contains(hash));

        assertEquals(
                revoked.revokedAt(),
                await(keys.revoke(key.id())).revokedAt(),
                "revoking again keeps the first revocation");
        assertNull(await(keys.revoke(unique("no-such-id"))));
    }

    private static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID();
    }
}
