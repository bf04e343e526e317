package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.Callable;

import javax.sql.DataSource;

import jakarta.inject.Inject;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.CacheStatus;
import io.strata.cache.CacheStatus.Forward;
import io.strata.cache.CachedLookup;
import io.strata.cache.ReadOptions;
import io.strata.storage.StorageUnavailableException;

/**
 * Entries past their freshness, and reads that ask to revalidate ({@link StrictReads}): served at once
 * within stale-while-revalidate while one background read refreshes them; revalidated with storage
 * past it; served when storage fails, within stale-if-error. Storage fails here for real: another
 * session holds PostgreSQL's documents table locked, so that reads of it time out
 * ({@code strata.storage.timeout}).
 */
@QuarkusTest
class StaleEntriesTest extends ProtocolTest {

    @Inject
    DataSource dataSource;

    /** Runs {@code action} while storage cannot answer reads of documents. */
    private <T> T whileStorageFails(Callable<T> action) throws Exception {
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try (Statement statement = connection.createStatement()) {
                statement.execute("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE");
                return action.call();
            } finally {
                connection.rollback();
            }
        }
    }

    private Throwable readFailure(String collection, String id, ReadOptions options) {
        try {
            read(collection, id, options);
        } catch (RuntimeException failure) {
            return failure;
        }
        throw new AssertionError("the read was answered");
    }

    @Test
    void noCacheReadsStorageAndStoresWhatItRead() {
        String c = newCollection("stale");
        long v = put(c, "nc", "{\"x\":1}");
        CachedLookup read = read(c, "nc", new ReadOptions(true, null, null));
        assertEquals(CacheStatus.forwarded(Forward.REQUEST, true), read.status());
        assertEquals(v, read.lookup().version());
        assertEquals(v, redis.entry(c, "nc").version());
        assertEquals(CacheStatus.HIT, read(c, "nc").status());
    }

    @Test
    void noCacheRevalidatesEvenAFreshEntry() {
        String c = newCollection("stale");
        putCached(c, "nc", "{\"x\":1}");
        long reads = storageQueries("read");
        CachedLookup read = read(c, "nc", new ReadOptions(true, null, null));
        assertEquals(CacheStatus.forwarded(Forward.REQUEST, true), read.status());
        assertEquals(reads + 1, storageQueries("read"), "storage was read");
    }

    @Test
    void noCacheTakesTheFillTokenOverFromAnotherReader() {
        String c = newCollection("stale");
        long v = put(c, "nc", "{}");
        assertTrue(redis.takeFillToken(c, "nc", Duration.ofSeconds(30)));
        CachedLookup read = read(c, "nc", new ReadOptions(true, null, null));
        assertEquals(
                CacheStatus.forwarded(Forward.REQUEST, true), read.status(), "it does not wait for the other reader");
        assertEquals(v, redis.entry(c, "nc").version());
    }

    @Test
    void anEntryWithinStaleWhileRevalidateIsServedAtOnceAndRefreshedInTheBackground() {
        String c = newCollection("stale");
        long v = putCached(c, "swr", "{\"s\":1}");
        redis.makeStale(c, "swr", Duration.ofSeconds(5)); // within the 30 s window
        CachedLookup read = read(c, "swr");
        assertTrue(read.status().hit());
        assertEquals("stale-while-revalidate", read.status().detail());
        assertTrue(
                read.status().staleBy().compareTo(Duration.ofSeconds(5)) >= 0
                        && read.status().staleBy().compareTo(Duration.ofSeconds(30)) <= 0,
                read.status().toString());
        assertEquals(v, read.lookup().version());
        Awaitility.await().atMost(WAIT).until(() -> redis.entry(c, "swr").freshUntil() > System.currentTimeMillis());
        assertEquals(CacheStatus.HIT, read(c, "swr").status());
    }

    @Test
    void anEntryPastStaleWhileRevalidateIsRevalidatedWithStorage() {
        String c = newCollection("stale");
        long v = putCached(c, "old", "{}");
        redis.makeStale(c, "old", Duration.ofMinutes(5)); // past the 30 s window
        CachedLookup read = read(c, "old");
        assertEquals(CacheStatus.forwarded(Forward.STALE, true), read.status());
        assertEquals(v, read.lookup().version());
        assertEquals(CacheStatus.HIT, read(c, "old").status());
    }

    @Test
    void anEntryPastFreshnessIsServedWithinStaleIfErrorWhenStorageFails() throws Exception {
        String c = newCollection("stale");
        long v = putCached(c, "sie", "{\"s\":1}");
        redis.makeStale(c, "sie", Duration.ofMinutes(5)); // within the 10 min of stale-if-error
        CachedLookup read = whileStorageFails(() -> read(c, "sie"));
        assertTrue(read.status().hit());
        assertEquals("stale-if-error", read.status().detail());
        assertTrue(
                read.status().staleBy().compareTo(Duration.ofMinutes(5)) >= 0
                        && read.status().staleBy().compareTo(Duration.ofMinutes(6)) < 0,
                read.status().toString());
        assertEquals(v, read.lookup().version());
        assertEquals("{\"s\":1}", body(read));
    }

    @Test
    void aClientsNarrowerStaleIfErrorIsHonoured() throws Exception {
        String c = newCollection("stale");
        putCached(c, "sie", "{}");
        redis.makeStale(c, "sie", Duration.ofMinutes(5));
        Throwable failure =
                whileStorageFails(() -> readFailure(c, "sie", new ReadOptions(false, Duration.ofMinutes(1), null)));
        assertInstanceOf(StorageUnavailableException.class, failure);
    }

    @Test
    void noClientWidensTheConfiguredStaleIfError() throws Exception {
        String c = newCollection("stale");
        putCached(c, "sie", "{}");
        redis.makeStale(c, "sie", Duration.ofMinutes(11)); // past the configured 10 min, the key still there
        Throwable failure =
                whileStorageFails(() -> readFailure(c, "sie", new ReadOptions(false, Duration.ofHours(1), null)));
        assertInstanceOf(StorageUnavailableException.class, failure);
    }

    @Test
    void aFillThatCannotReadStorageGivesItsLeaseBack() throws Exception {
        String c = newCollection("stale");
        put(c, "r", "{}");
        Throwable failure = whileStorageFails(() -> readFailure(c, "r", ReadOptions.DEFAULT));
        assertInstanceOf(StorageUnavailableException.class, failure);
        assertFalse(redis.hasFillToken(c, "r"), "the next reader need not wait for a lease that will never fill");
        assertNull(redis.entry(c, "r"));
        assertEquals(miss(true), read(c, "r").status());
    }
}
