package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.cache.BatchLookup;
import io.strata.storage.Document;

/**
 * Reads of many documents at once ({@link BatchReads}): one pipeline per Redis master, one storage
 * query for the misses, which are filled under their tokens; bodies within a byte budget, the rest
 * left for the client to ask again.
 */
@QuarkusTest
class BatchReadsTest extends ProtocolTest {

    private static final long LARGE_BUDGET = 16 << 20;

    private BatchLookup readMany(String collection, List<String> ids, long maxBytes) {
        return cache.readMany(collection, ids, maxBytes).await().atMost(WAIT);
    }

    private static List<String> ids(BatchLookup batch) {
        return batch.found().stream().map(Document::id).toList();
    }

    private static List<String> ids(String prefix, int count) {
        return IntStream.range(0, count).mapToObj(i -> prefix + i).toList();
    }

    @Test
    void aBatchAnswersInRequestOrderFromEveryMaster() {
        String c = newCollection("batch");
        List<String> ids = ids("b", 40);
        Set<String> masters = ids.stream()
                .map(id -> redis.masterOf(RedisProbe.entryKey(c, id)))
                .collect(Collectors.toSet());
        assertEquals(3, masters.size(), "the documents live on all three masters");
        for (String id : ids) {
            put(c, id, "{\"id\":\"" + id + "\"}");
        }
        for (String id : ids.subList(0, 20)) {
            read(c, id); // half of them cached
        }
        BatchLookup batch = readMany(c, ids, LARGE_BUDGET);
        assertEquals(ids, ids(batch));
        for (Document document : batch.found()) {
            assertEquals("{\"id\":\"" + document.id() + "\"}", new String(document.body(), StandardCharsets.UTF_8));
        }
        assertTrue(batch.missing().isEmpty());
        assertTrue(batch.unprocessed().isEmpty());
    }

    @Test
    void aBatchFillsTheDocumentsItMissed() {
        String c = newCollection("batch");
        List<String> ids = ids("f", 12);
        List<Long> versions = ids.stream().map(id -> put(c, id, "{}")).toList();
        readMany(c, ids, LARGE_BUDGET);
        for (int i = 0; i < ids.size(); i++) {
            assertEquals(versions.get(i), redis.entry(c, ids.get(i)).version(), "filled: " + ids.get(i));
            assertFalse(redis.hasFillToken(c, ids.get(i)), "its token given up: " + ids.get(i));
        }
    }

    @Test
    void absentAndDeletedDocumentsAreAnsweredAsMissing() {
        String c = newCollection("batch");
        put(c, "live", "{}");
        put(c, "gone", "{}");
        delete(c, "gone");
        BatchLookup batch = readMany(c, List.of("never", "live", "gone"), LARGE_BUDGET);
        assertEquals(List.of("live"), ids(batch));
        assertEquals(List.of("never", "gone"), batch.missing());
        assertTrue(redis.entry(c, "gone").negative(), "the deletion is cached as a negative entry");
        assertTrue(redis.entry(c, "never").negative());
    }

    @Test
    void aBatchOfCachedDocumentsReadsNoStorage() {
        String c = newCollection("batch");
        List<String> ids = ids("c", 10);
        for (String id : ids) {
            putCached(c, id, "{\"id\":\"" + id + "\"}");
        }
        put(c, "deleted", "{}");
        delete(c, "deleted");
        read(c, "deleted"); // both cached as negative entries
        read(c, "never");
        List<String> asked = new ArrayList<>(ids);
        asked.addAll(List.of("deleted", "never"));
        long readMany = storageQueries("read_many");
        long reads = storageQueries("read");
        BatchLookup batch = readMany(c, asked, LARGE_BUDGET);
        assertEquals(ids, ids(batch));
        assertEquals(List.of("deleted", "never"), batch.missing());
        assertEquals(readMany, storageQueries("read_many"), "no batch query of storage");
        assertEquals(reads, storageQueries("read"), "no single read of storage");
        // and the same counter does see a batch with one document not cached
        readMany(c, List.of(ids.get(0), "uncached"), LARGE_BUDGET);
        assertEquals(readMany + 1, storageQueries("read_many"));
    }

    @Test
    void aBatchStopsAtItsByteBudgetAndListsTheRestAsUnprocessed() {
        String c = newCollection("batch");
        String body = "{\"pad\":\"" + "p".repeat(90) + "\"}"; // 100 bytes
        List<String> ids = ids("u", 10);
        for (String id : ids) {
            putCached(c, id, body);
        }
        redis.evict(c, "u1"); // one of them read from storage
        BatchLookup batch = readMany(c, ids, 450);
        assertEquals(List.of("u0", "u1", "u2", "u3"), ids(batch));
        assertEquals(ids.subList(4, 10), batch.unprocessed());
        assertTrue(batch.missing().isEmpty());
    }

    @Test
    void cachedBodiesLargerThanTheirShareOfTheBudgetAreAnsweredFromTheCacheWhileTheyFit() {
        String c = newCollection("batch");
        String body = "{\"pad\":\"" + "p".repeat(90) + "\"}"; // 100 bytes, over a third of 250
        List<String> ids = ids("l", 3);
        for (String id : ids) {
            putCached(c, id, body);
        }
        long readMany = storageQueries("read_many");
        BatchLookup batch = readMany(c, ids, 250);
        assertEquals(List.of("l0", "l1"), ids(batch));
        assertEquals(List.of("l2"), batch.unprocessed());
        assertEquals(readMany, storageQueries("read_many"), "from the cache, not storage");
    }

    @Test
    void oneDocumentLargerThanTheWholeBudgetIsStillAnswered() {
        String c = newCollection("batch");
        put(c, "huge", "{\"pad\":\"" + "h".repeat(500) + "\"}");
        BatchLookup fromStorage = readMany(c, List.of("huge", "none"), 100);
        assertEquals(List.of("huge"), ids(fromStorage));
        assertEquals(List.of("none"), fromStorage.missing());
        assertTrue(fromStorage.unprocessed().isEmpty());
        BatchLookup fromCache = readMany(c, List.of("huge", "none"), 100);
        assertEquals(List.of("huge"), ids(fromCache), "and once it is cached");
        assertEquals(List.of("none"), fromCache.missing());
        assertTrue(fromCache.unprocessed().isEmpty());
    }
}
