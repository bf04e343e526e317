package io.strata.storage.pg;

import static io.strata.storage.pg.RealPostgres.await;
import static io.strata.storage.pg.RealPostgres.bodyOf;
import static io.strata.storage.pg.RealPostgres.freshCollection;
import static io.strata.storage.pg.RealPostgres.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.strata.storage.Document;
import io.strata.storage.DocumentStore;
import io.strata.storage.Lookup;
import io.strata.storage.Page;
import io.strata.storage.Precondition;
import io.strata.storage.WriteResult;

/** List pages in byte order of ids within a count and a byte budget; batch reads within a byte budget. */
class PagesAndBatchesTest {

    private static final Comparator<String> BYTE_ORDER =
            (a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    private final RealPostgres pg = RealPostgres.get();
    private final DocumentStore store = pg.documents;
    private final String collection = freshCollection();

    @Test
    void pagesFollowTheByteOrderOfIdsAndChainByLastId() {
        // U+FF21 sorts after the astral U+1F600 in UTF-16 (Java's String order) but before it in UTF-8
        List<String> ids =
                new ArrayList<>(List.of("a", "B", "Z", "_", "aa", "a b", "\u00e9", "\uff21", "\ud83d\ude00", "0"));
        Collections.shuffle(ids);
        ids.forEach(id -> put(id, json("{\"id\":\"" + id + "\"}")));
        put("deleted", json("{}"));
        await(store.delete(collection, "deleted", Precondition.NONE));
        await(store.put(freshCollection(), "a", json("{}"), Precondition.NONE));

        List<String> expected = ids.stream().sorted(BYTE_ORDER).toList();
        assertNotEquals(ids.stream().sorted().toList(), expected, "the ids tell byte order from Java's String order");

        List<String> listed = new ArrayList<>();
        List<Integer> pageSizes = new ArrayList<>();
        String after = null;
        do {
            Page page = await(store.list(collection, after, 3, 1 << 20));
            page.documents().forEach(document -> listed.add(document.id()));
            pageSizes.add(page.documents().size());
            after = page.lastId();
            if (after != null) {
                assertEquals(page.documents().get(page.documents().size() - 1).id(), after);
            }
        } while (after != null);

        assertEquals(expected, listed, "every live document of the collection once, in byte order, no tombstone");
        assertEquals(List.of(3, 3, 3, 1), pageSizes);
    }

    @Test
    void aPageThatEndsTheCollectionExactlyHasNoLastId() {
        for (String id : List.of("a", "b", "c", "d")) {
            put(id, json("{}"));
        }
        Page first = await(store.list(collection, null, 2, 1 << 20));
        assertEquals("b", first.lastId());
        Page second = await(store.list(collection, first.lastId(), 2, 1 << 20));
        assertEquals(List.of("c", "d"), ids(second));
        assertNull(second.lastId());
    }

    @Test
    void aPageEndsEarlyWhenBodiesExceedTheByteBudgetAndLastIdContinuesIt() {
        for (String id : List.of("a", "b", "c", "d", "e")) {
            put(id, bodyOf(100));
        }
        List<List<String>> pages = new ArrayList<>();
        String after = null;
        do {
            Page page = await(store.list(collection, after, 10, 250));
            pages.add(ids(page));
            after = page.lastId();
        } while (after != null);
        assertEquals(List.of(List.of("a", "b"), List.of("c", "d"), List.of("e")), pages);

        assertEquals(
                List.of("a", "b", "c"), ids(await(store.list(collection, null, 10, 300))), "a budget is inclusive");
        for (Document document : await(store.list(collection, null, 10, 300)).documents()) {
            assertArrayEquals(bodyOf(100), document.body(), "bodies byte for byte");
        }
    }

    @Test
    void theFirstDocumentOfAPageComesWhateverItsSize() {
        put("a", bodyOf(50));
        put("b", bodyOf(500));
        put("c", bodyOf(50));

        Page one = await(store.list(collection, null, 10, 200));
        assertEquals(List.of("a"), ids(one), "b would pass the budget");
        assertEquals("a", one.lastId());
        Page two = await(store.list(collection, one.lastId(), 10, 200));
        assertEquals(List.of("b"), ids(two), "alone over the budget, but first");
        assertEquals("b", two.lastId());
        Page three = await(store.list(collection, two.lastId(), 10, 200));
        assertEquals(List.of("c"), ids(three));
        assertNull(three.lastId());

        assertEquals(List.of("b"), ids(await(store.list(collection, "a", 10, 1))));
    }

    @Test
    void readManyAnswersInRequestOrderWithinItsBudgetAndDefersTheRest() {
        for (String id : List.of("a", "b", "c", "d")) {
            put(id, bodyOf(100));
        }
        put("gone", bodyOf(100));
        WriteResult deletion = await(store.delete(collection, "gone", Precondition.NONE));

        List<String> asked = List.of("a", "missing", "b", "gone", "c", "d");
        DocumentStore.Many many = await(store.readMany(collection, asked, 250));

        assertEquals(List.of("c", "d"), many.deferred(), "live documents past the budget, in request order");
        assertEquals(Set.of("a", "missing", "b", "gone"), many.lookups().keySet());
        assertArrayEquals(bodyOf(100), found(many, "a").body());
        assertArrayEquals(bodyOf(100), found(many, "b").body());
        assertInstanceOf(Lookup.Absent.class, many.lookups().get("missing"));
        assertEquals(0, many.lookups().get("missing").version());
        assertEquals(
                deletion.version(),
                many.lookups().get("gone").version(),
                "absences take no budget and carry their version");
        assertEveryIdAnsweredOnce(asked, many);
    }

    @Test
    void readManyAnswersTheFirstLiveDocumentWhateverItsSize() {
        put("big", bodyOf(1000));
        put("small", bodyOf(10));
        List<String> asked = List.of("missing", "big", "small");
        DocumentStore.Many many = await(store.readMany(collection, asked, 1));
        assertArrayEquals(bodyOf(1000), found(many, "big").body());
        assertEquals(List.of("small"), many.deferred());
        assertEveryIdAnsweredOnce(asked, many);

        DocumentStore.Many none = await(store.readMany(collection, List.of(), 1));
        assertTrue(none.lookups().isEmpty() && none.deferred().isEmpty());
    }

    private void put(String id, byte[] body) {
        await(store.put(collection, id, body, Precondition.NONE));
    }

    private static List<String> ids(Page page) {
        return page.documents().stream().map(Document::id).toList();
    }

    private static Document found(DocumentStore.Many many, String id) {
        return assertInstanceOf(Lookup.Found.class, many.lookups().get(id)).document();
    }

    private static void assertEveryIdAnsweredOnce(List<String> asked, DocumentStore.Many many) {
        Map<String, Lookup> lookups = many.lookups();
        Set<String> answered = new HashSet<>(lookups.keySet());
        for (String id : many.deferred()) {
            assertTrue(answered.add(id), id + " is both answered and deferred");
        }
        assertEquals(new HashSet<>(asked), answered);
    }
}
