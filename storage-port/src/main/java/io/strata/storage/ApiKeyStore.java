package io.strata.storage;

import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

import io.smallrye.mutiny.Uni;

/**
 * Where API keys live: as keyed hashes, never as secrets. Revocations are announced to every
 * instance, so that caches of verified keys can drop them at once.
 */
public interface ApiKeyStore {

    /**
     * A key as stored.
     *
     * @param scopes    what it may do ({@code read:<collection>}, {@code write:<prefix>*}, {@code admin})
     * @param rateLimit requests per second it may make (0: the configured default)
     * @param revokedAt when it was revoked, or {@code null}
     */
    record StoredKey(
            String id,
            String name,
            String hash,
            List<String> scopes,
            int rateLimit,
            Instant createdAt,
            Instant revokedAt) {

        public boolean revoked() {
            return revokedAt != null;
        }
    }

    /** The key with this hash, revoked or not; {@code null} when there is none. */
    Uni<StoredKey> findByHash(String hash);

    /** Stores a new key (or, for an existing hash, leaves it as it is) and answers it. */
    Uni<StoredKey> create(String id, String name, String hash, List<String> scopes, int rateLimit);

    /** Every key, newest first. */
    Uni<List<StoredKey>> list();

    /** Revokes a key; answers the revoked key, or {@code null} when there is no such key. */
    Uni<StoredKey> revoke(String id);

    /**
     * Receives the hash of every key revoked by any instance, and {@code "*"} when announcements may
     * have been missed (after a reconnection), which means: forget every verified key.
     */
    void onRevocation(Consumer<String> listener);
}
