package io.strata.gateway.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.strata.storage.ApiKeyStore;

/**
 * How key verification treats storage: lookups collapsed per secret, capped per second, and never
 * cached when a revocation was heard while they were in flight. The key store here is an in-memory
 * stand-in for the port whose answers the test releases one by one, so that each race is exact.
 */
class ApiKeysTest {

    private static final String PEPPER = "p".repeat(ApiKeys.MIN_PEPPER_BYTES);

    /** An in-memory key store whose lookups wait until the test answers them. */
    private static final class HeldStore implements ApiKeyStore {
        final Map<String, StoredKey> keys = new ConcurrentHashMap<>();
        final List<UniEmitter<? super StoredKey>> waiting = new ArrayList<>();
        final List<String> waitingFor = new ArrayList<>();
        final AtomicInteger lookups = new AtomicInteger();
        Consumer<String> revocations = hash -> {};

        @Override
        public synchronized Uni<StoredKey> findByHash(String hash) {
            lookups.incrementAndGet();
            return Uni.createFrom().emitter(emitter -> {
                synchronized (this) {
                    waiting.add(emitter);
                    waitingFor.add(hash);
                }
            });
        }

        /** Answers every lookup in flight with what the store holds now. */
        synchronized void answerAll() {
            for (int i = 0; i < waiting.size(); i++) {
                waiting.get(i).complete(keys.get(waitingFor.get(i)));
            }
            waiting.clear();
            waitingFor.clear();
        }

        @Override
        public Uni<StoredKey> create(String id, String name, String hash, List<String> scopes, int rateLimit) {
            StoredKey key = new StoredKey(id, name, hash, scopes, rateLimit, Instant.now(), null);
            keys.put(hash, key);
            return Uni.createFrom().item(key);
        }

        @Override
        public Uni<List<StoredKey>> list() {
            return Uni.createFrom().item(List.copyOf(keys.values()));
        }

        @Override
        public Uni<StoredKey> revoke(String id) {
            StoredKey revoked = null;
            for (StoredKey key : keys.values()) {
                if (key.id().equals(id)) {
                    revoked = new StoredKey(
                            key.id(),
                            key.name(),
                            key.hash(),
                            key.scopes(),
                            key.rateLimit(),
                            key.createdAt(),
                            Instant.now());
                    keys.put(key.hash(), revoked);
                }
            }
            return Uni.createFrom().item(revoked);
        }

        @Override
        public void onRevocation(Consumer<String> listener) {
            revocations = listener;
        }
    }

    private static AuthConfig config(String pepper, int lookupsPerSecond) {
        return new AuthConfig() {
            public Optional<String> pepper() {
                return Optional.ofNullable(pepper);
            }

            public Optional<String> bootstrapAdminKey() {
                return Optional.empty();
            }

            public Duration keyCacheTtl() {
                return Duration.ofSeconds(10);
            }

            public Duration unknownKeyCacheTtl() {
                return Duration.ofSeconds(2);
            }

            public int keyLookupsPerSecond() {
                return lookupsPerSecond;
            }

            public int defaultRateLimit() {
                return 1000;
            }

            public boolean rateLimitFailOpen() {
                return true;
            }
        };
    }

    private static ApiKeys.Verification await(Uni<ApiKeys.Verification> verification) {
        return verification.await().atMost(Duration.ofSeconds(5));
    }

    @Test
    void concurrentLookupsOfOneSecretShareOneQuery() {
        HeldStore store = new HeldStore();
        ApiKeys keys = new ApiKeys(store, config(PEPPER, 100), new SimpleMeterRegistry());
        String secret =
                keys.create("k", List.of("read:c"), 0).await().indefinitely().secret();
        List<io.smallrye.mutiny.subscription.Cancellable> pending = new ArrayList<>();
        List<ApiKeys.Verification> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < 50; i++) {
            pending.add(keys.verify(secret).subscribe().with(answers::add));
        }
        assertEquals(1, store.lookups.get(), "fifty requests with one new key: one storage query");
        store.answerAll();
        assertEquals(50, answers.size());
        answers.forEach(answer -> assertNotNull(answer.key()));
        assertNotNull(await(keys.verify(secret)).key());
        assertEquals(1, store.lookups.get(), "and then it is cached");
    }

    @Test
    void newKeysBeyondTheLookupBudgetAreRefusedWithoutAQuery() {
        HeldStore store = new HeldStore();
        ApiKeys keys = new ApiKeys(store, config(PEPPER, 20), new SimpleMeterRegistry());
        int throttled = 0;
        for (int i = 0; i < 1000; i++) {
            Uni<ApiKeys.Verification> answer = keys.verify("sk_unknown_" + String.format("%06d", i) + "_xxxxxxxx");
            store.answerAll();
            if (await(answer).throttled()) {
                throttled++;
            }
        }
        // the budget holds one second's worth (20) and refills at 20 per second: this loop takes far less than a second
        assertTrue(store.lookups.get() >= 20 && store.lookups.get() <= 40, "lookups: " + store.lookups.get());
        assertEquals(1000 - store.lookups.get(), throttled);
    }

    @Test
    void aLookupInFlightWhenARevocationIsHeardIsNotCached() {
        HeldStore store = new HeldStore();
        ApiKeys keys = new ApiKeys(store, config(PEPPER, 100), new SimpleMeterRegistry());
        ApiKeys.Created created = keys.create("k", List.of("read:c"), 0).await().indefinitely();
        // the lookup reads the key before the revocation commits...
        Uni<ApiKeys.Verification> inFlight = keys.verify(created.secret());
        List<ApiKeys.Verification> first = new ArrayList<>();
        inFlight.subscribe().with(first::add);
        // ...another instance revokes it and its announcement arrives, then the stale answer lands
        String hash = keys.hash(created.secret());
        store.revocations.accept(hash);
        store.waiting.get(0).complete(store.keys.get(hash));
        store.waiting.clear();
        store.waitingFor.clear();
        assertNotNull(first.get(0).key(), "that request raced with the revocation and may pass");
        store.revoke(created.key().id()).await().indefinitely();
        Uni<ApiKeys.Verification> next = keys.verify(created.secret());
        store.answerAll();
        assertNull(await(next).key(), "the stale answer was not cached: the next request looks again and is refused");
        assertEquals(2, store.lookups.get());
    }

    @Test
    void aShortPepperIsRefused() {
        HeldStore store = new HeldStore();
        IllegalStateException refused = assertThrows(
                IllegalStateException.class,
                () -> new ApiKeys(store, config("too-short-pepper", 100), new SimpleMeterRegistry()));
        assertTrue(refused.getMessage().contains("at least 32 bytes"), refused.getMessage());
    }
}
