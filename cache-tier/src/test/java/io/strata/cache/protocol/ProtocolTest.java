package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;

import jakarta.inject.Inject;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.strata.cache.CacheHooks;
import io.strata.cache.CacheStatus;
import io.strata.cache.CacheStatus.Forward;
import io.strata.cache.CachedLookup;
import io.strata.cache.DocumentCache;
import io.strata.cache.ReadOptions;
import io.strata.storage.ChangeLog;
import io.strata.storage.ChangeLog.Change;
import io.strata.storage.Lookup;
import io.strata.storage.Precondition;

/**
 * What the protocol tests share: writes through the cache tier's facade, strict reads through
 * {@link StrictReads} (so that they reach Redis, never the near cache in front of it), and what Redis
 * holds ({@link RedisProbe}). Every test works in a collection of its own.
 */
abstract class ProtocolTest {

    /** How long a test waits for one call to the cache tier; a bound against hanging, not a measurement. */
    static final Duration WAIT = Duration.ofSeconds(10);

    @Inject
    DocumentCache cache;

    @Inject
    StrictReads strict;

    @Inject
    CacheHooks hooks;

    @Inject
    RedisProbe redis;

    @Inject
    MeterRegistry registry;

    @Inject
    ChangeLog changes;

    /** Whether this instance is known to receive change announcements (once per test run). */
    private static volatile boolean listening;

    /**
     * Waits, before the first test, until this instance receives change announcements. When it starts
     * listening it takes up every change not yet confirmed, as possibly missed, and invalidates those
     * documents: correct, but it would remove entries of a test that runs meanwhile.
     */
    @BeforeEach
    void awaitChangeListener() {
        if (listening) {
            return;
        }
        Change probe = new Change("listener", "probe", 0);
        Awaitility.await().atMost(WAIT).until(() -> {
            changes.announce(probe).await().atMost(WAIT);
            return cache.pendingInvalidations() > 0;
        });
        Awaitility.await().atMost(WAIT).until(() -> cache.pendingInvalidations() == 0);
        listening = true;
    }

    @AfterEach
    void removeHooks() {
        hooks.reset();
    }

    static String newCollection(String kind) {
        return kind + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static byte[] utf8(String json) {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    /** Creates or replaces the document through the cache tier; answers its version. */
    long put(String collection, String id, String json) {
        return cache.put(collection, id, utf8(json), Precondition.NONE)
                .await()
                .atMost(WAIT)
                .version();
    }

    /** Deletes the document through the cache tier; answers the deletion's version. */
    long delete(String collection, String id) {
        return cache.delete(collection, id, Precondition.NONE)
                .await()
                .atMost(WAIT)
                .version();
    }

    CachedLookup read(String collection, String id) {
        return read(collection, id, ReadOptions.DEFAULT);
    }

    CachedLookup read(String collection, String id, ReadOptions options) {
        return strict.read(collection, id, options).await().atMost(WAIT);
    }

    /** Writes, then reads once so that the document is cached (a write-through never creates an entry). */
    long putCached(String collection, String id, String json) {
        long version = put(collection, id, json);
        CachedLookup filled = read(collection, id);
        assertEquals(
                CacheStatus.forwarded(Forward.MISS, true),
                filled.status(),
                "the read after the write filled the cache");
        assertEquals(version, filled.lookup().version());
        return version;
    }

    static String body(CachedLookup read) {
        return new String(
                assertInstanceOf(Lookup.Found.class, read.lookup()).document().body(), StandardCharsets.UTF_8);
    }

    static CacheStatus miss(boolean stored) {
        return CacheStatus.forwarded(Forward.MISS, stored);
    }

    /** Storage queries of {@code operation} so far (the adapter's timer, {@code strata_storage_queries_seconds_count}). */
    long storageQueries(String operation) {
        return registry.find("strata.storage.queries").tag("operation", operation).timers().stream()
                .mapToLong(Timer::count)
                .sum();
    }

    double count(String name, String... tags) {
        Counter counter = registry.find(name).tags(tags).counter();
        return counter == null ? 0 : counter.count();
    }
}
