package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/** The v1 API over the real PostgreSQL and Redis Cluster: statuses, entity tags and preconditions. */
@QuarkusTest
class DocumentApiTest extends AuthenticatedTest {

    private static final String JSON = "application/json";
    private static final String PROBLEM = "application/problem+json";

    private static String newCollection() {
        return "api-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static Response put(String collection, String id, String body) {
        return given().contentType(JSON).body(body).put("/v1/{c}/docs/{id}", collection, id);
    }

    /** The colon is sent as is: ':' is a reserved character, and "%3A" would name another resource. */
    private static Response batchGet(String collection, Object body) {
        return given().urlEncodingEnabled(false)
                .contentType(JSON)
                .body(body)
                .post("/v1/" + collection + "/docs:batchGet");
    }

    private static long version(Response response) {
        String etag = response.header("ETag");
        assertTrue(etag.matches("\"[0-9]+\""), "strong numeric ETag, got " + etag);
        return Long.parseLong(etag.substring(1, etag.length() - 1));
    }

    @Test
    void putCreatesWith201ThenReplacesWith200AndVersionsGrow() {
        String c = newCollection();
        Response created = put(c, "doc-1", "{\"a\":1}");
        created.then().statusCode(201).contentType(JSON).header("Location", startsWith("http"));
        Response replaced = put(c, "doc-1", "{\"a\":2}");
        replaced.then().statusCode(200).body("a", equalTo(2));
        assertTrue(version(replaced) > version(created));
    }

    @Test
    void getReturnsTheBodyByteForByte() {
        String c = newCollection();
        String body = "  {\"s\":\"nul \\u0000 here\", \"n\" : 1.50e3, \"u\":\"\u00e9\\u00e9\",\n \"arr\":[ ]}\t";
        put(c, "exact", body).then().statusCode(201);
        byte[] read = given().get("/v1/{c}/docs/{id}", c, "exact")
                .then()
                .statusCode(200)
                .contentType(JSON)
                .extract()
                .asByteArray();
        assertArrayEquals(body.getBytes(StandardCharsets.UTF_8), read);
    }

    @Test
    void anyJsonValueIsADocument() {
        String c = newCollection();
        for (String value : List.of("42", "\"text\"", "null", "true", "[1,2]")) {
            String id = "v" + Math.abs(value.hashCode());
            put(c, id, value).then().statusCode(201);
            assertEquals(
                    value,
                    given().get("/v1/{c}/docs/{id}", c, id)
                            .then()
                            .statusCode(200)
                            .extract()
                            .asString());
        }
    }

    @Test
    void ifNoneMatchOnGetAnswers304WithTheEtag() {
        String c = newCollection();
        Response created = put(c, "cond", "{}");
        given().header("If-None-Match", created.header("ETag"))
                .get("/v1/{c}/docs/{id}", c, "cond")
                .then()
                .statusCode(304)
                .header("ETag", created.header("ETag"));
        given().header("If-None-Match", "\"1\", \"2\", " + created.header("ETag"))
                .get("/v1/{c}/docs/{id}", c, "cond")
                .then()
                .statusCode(304);
        given().header("If-None-Match", "\"999999999\"")
                .get("/v1/{c}/docs/{id}", c, "cond")
                .then()
                .statusCode(200);
    }

    @Test
    void ifMatchGuardsReplace() {
        String c = newCollection();
        Response created = put(c, "im", "{\"v\":1}");
        given().contentType(JSON)
                .header("If-Match", "\"" + (version(created) + 1000) + "\"")
                .body("{\"v\":2}")
                .put("/v1/{c}/docs/{id}", c, "im")
                .then()
                .statusCode(412)
                .contentType(PROBLEM);
        given().get("/v1/{c}/docs/{id}", c, "im").then().body("v", equalTo(1));
        given().contentType(JSON)
                .header("If-Match", created.header("ETag"))
                .body("{\"v\":2}")
                .put("/v1/{c}/docs/{id}", c, "im")
                .then()
                .statusCode(200);
        given().contentType(JSON)
                .header("If-Match", "W/" + created.header("ETag"))
                .body("{\"v\":3}")
                .put("/v1/{c}/docs/{id}", c, "im")
                .then()
                .statusCode(412);
    }

    @Test
    void ifMatchOnAnAbsentDocumentIs412NotACreate() {
        String c = newCollection();
        given().contentType(JSON)
                .header("If-Match", "\"1\"")
                .body("{}")
                .put("/v1/{c}/docs/{id}", c, "absent")
                .then()
                .statusCode(412)
                .contentType(PROBLEM);
        given().contentType(JSON)
                .header("If-Match", "*")
                .body("{}")
                .put("/v1/{c}/docs/{id}", c, "absent")
                .then()
                .statusCode(412);
        given().get("/v1/{c}/docs/{id}", c, "absent").then().statusCode(404);
    }

    @Test
    void ifNoneMatchStarIsCreateOnly() {
        String c = newCollection();
        given().contentType(JSON)
                .header("If-None-Match", "*")
                .body("{\"first\":true}")
                .put("/v1/{c}/docs/{id}", c, "once")
                .then()
                .statusCode(201);
        given().contentType(JSON)
                .header("If-None-Match", "*")
                .body("{\"first\":false}")
                .put("/v1/{c}/docs/{id}", c, "once")
                .then()
                .statusCode(412)
                .contentType(PROBLEM);
        given().get("/v1/{c}/docs/{id}", c, "once").then().body("first", equalTo(true));
    }

    @Test
    void deleteThenRecreateGetsAHigherVersion() {
        String c = newCollection();
        long first = version(put(c, "re", "{}"));
        given().delete("/v1/{c}/docs/{id}", c, "re").then().statusCode(204);
        given().get("/v1/{c}/docs/{id}", c, "re").then().statusCode(404).contentType(PROBLEM);
        Response again = put(c, "re", "{}");
        again.then().statusCode(201);
        assertTrue(version(again) > first);
        given().contentType(JSON)
                .header("If-None-Match", "*")
                .body("{}")
                .put("/v1/{c}/docs/{id}", c, "re2")
                .then()
                .statusCode(201);
    }

    @Test
    void deleteStatuses() {
        String c = newCollection();
        given().delete("/v1/{c}/docs/{id}", c, "never").then().statusCode(404).contentType(PROBLEM);
        given().header("If-Match", "\"1\"")
                .delete("/v1/{c}/docs/{id}", c, "never")
                .then()
                .statusCode(412)
                .contentType(PROBLEM);
        Response created = put(c, "del", "{}");
        given().header("If-Match", "\"" + (version(created) + 5) + "\"")
                .delete("/v1/{c}/docs/{id}", c, "del")
                .then()
                .statusCode(412);
        given().get("/v1/{c}/docs/{id}", c, "del").then().statusCode(200);
        given().header("If-Match", created.header("ETag"))
                .delete("/v1/{c}/docs/{id}", c, "del")
                .then()
                .statusCode(204);
        given().delete("/v1/{c}/docs/{id}", c, "del").then().statusCode(404);
    }

    @Test
    void mergePatchFollowsRfc7396() {
        String c = newCollection();
        Response created = put(c, "p", "{\"a\":\"b\",\"c\":{\"d\":\"e\",\"f\":\"g\"},\"keep\":[1]}");
        Response patched = given().contentType("application/merge-patch+json")
                .header("If-Match", created.header("ETag"))
                .body("{\"a\":\"z\",\"c\":{\"f\":null},\"new\":1}")
                .patch("/v1/{c}/docs/{id}", c, "p");
        patched.then()
                .statusCode(200)
                .body("a", equalTo("z"))
                .body("c.d", equalTo("e"))
                .body("c.f", nullValue())
                .body("new", equalTo(1))
                .body("keep", contains(1));
        assertTrue(version(patched) > version(created));
        given().get("/v1/{c}/docs/{id}", c, "p")
                .then()
                .header("ETag", patched.header("ETag"))
                .body("c.containsKey('f')", equalTo(false));
        given().contentType("application/merge-patch+json")
                .body("[1]")
                .patch("/v1/{c}/docs/{id}", c, "p")
                .then()
                .statusCode(200)
                .body("$", contains(1));
    }

    @Test
    void patchStatuses() {
        String c = newCollection();
        given().contentType("application/merge-patch+json")
                .body("{}")
                .patch("/v1/{c}/docs/{id}", c, "nope")
                .then()
                .statusCode(404)
                .contentType(PROBLEM);
        given().contentType("application/merge-patch+json")
                .header("If-Match", "\"3\"")
                .body("{}")
                .patch("/v1/{c}/docs/{id}", c, "nope")
                .then()
                .statusCode(412);
        Response created = put(c, "pp", "{\"x\":1}");
        given().contentType(JSON)
                .body("{\"x\":2}")
                .patch("/v1/{c}/docs/{id}", c, "pp")
                .then()
                .statusCode(415)
                .contentType(PROBLEM);
        given().contentType("application/merge-patch+json")
                .header("If-Match", "\"" + (version(created) + 9) + "\"")
                .body("{\"x\":2}")
                .patch("/v1/{c}/docs/{id}", c, "pp")
                .then()
                .statusCode(412);
        given().contentType("application/merge-patch+json")
                .body("{\"x\":")
                .patch("/v1/{c}/docs/{id}", c, "pp")
                .then()
                .statusCode(400)
                .contentType(PROBLEM);
        given().get("/v1/{c}/docs/{id}", c, "pp").then().body("x", equalTo(1)).header("ETag", created.header("ETag"));
    }

    @Test
    void listPagesInByteOrderOfIds() {
        String c = newCollection();
        List<String> ids = List.of("B", "a", "A", "b", "0", "a.b", "a-b", "~", "Z");
        for (String id : ids) {
            // sent as written: "~" is unreserved, and its escape "%7E" is not a canonical path
            given().urlEncodingEnabled(false)
                    .contentType(JSON)
                    .body("{\"id\":\"" + id + "\"}")
                    .put("/v1/" + c + "/docs/" + id)
                    .then()
                    .statusCode(201);
        }
        given().delete("/v1/{c}/docs/{id}", c, "b").then().statusCode(204);
        List<String> expected = ids.stream()
                .filter(id -> !id.equals("b"))
                .sorted((x, y) -> java.util.Arrays.compareUnsigned(x.getBytes(), y.getBytes()))
                .toList();
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            var request = given().queryParam("limit", 3);
            if (cursor != null) {
                request.queryParam("after", cursor);
            }
            Response page = request.get("/v1/{c}/docs", c);
            page.then().statusCode(200).contentType(JSON).header("Cache-Status", "strata; fwd=bypass");
            List<String> pageIds = page.jsonPath().getList("items.id");
            List<Integer> versions = page.jsonPath().getList("items.version");
            assertTrue(pageIds.size() <= 3);
            assertEquals(pageIds.size(), versions.size());
            for (int i = 0; i < pageIds.size(); i++) {
                assertEquals(pageIds.get(i), page.jsonPath().getString("items[" + i + "].doc.id"));
            }
            seen.addAll(pageIds);
            cursor = page.jsonPath().getString("next");
            pages++;
        } while (cursor != null && pages < 10);
        assertEquals(expected, seen);
        assertEquals(3, pages);
    }

    @Test
    void listLimits() {
        String c = newCollection();
        given().get("/v1/{c}/docs", c)
                .then()
                .statusCode(200)
                .body("items", empty())
                .body("next", nullValue());
        for (String limit : List.of("0", "1001", "-1", "ten")) {
            given().queryParam("limit", limit)
                    .get("/v1/{c}/docs", c)
                    .then()
                    .statusCode(400)
                    .contentType(PROBLEM);
        }
        given().queryParam("limit", 1000).get("/v1/{c}/docs", c).then().statusCode(200);
        given().queryParam("after", "!!not-a-cursor!!")
                .get("/v1/{c}/docs", c)
                .then()
                .statusCode(400)
                .contentType(PROBLEM);
    }

    @Test
    void batchGetReturnsFoundMissingAndUnprocessed() {
        String c = newCollection();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            ids.add("k" + i);
            put(c, "k" + i, "{\"i\":" + i + "}").then().statusCode(201);
        }
        given().delete("/v1/{c}/docs/{id}", c, "k7").then().statusCode(204);
        List<String> asked = new ArrayList<>(ids);
        asked.add("never");
        Response batch = batchGet(c, java.util.Map.of("ids", asked));
        batch.then()
                .statusCode(200)
                .contentType(JSON)
                .body("found", hasSize(49))
                .body("missing", contains("k7", "never"))
                .body("unprocessed", empty())
                .body("found[0].id", equalTo("k0"))
                .body("found[0].doc.i", equalTo(0))
                .body("found[0].version", notNullValue());
        // a second time every entry is served by the cache, with the same answer
        batchGet(c, java.util.Map.of("ids", asked))
                .then()
                .statusCode(200)
                .body("found", hasSize(49))
                .body("found.id", equalTo(batch.jsonPath().getList("found.id")));
    }

    @Test
    void batchGetLimits() {
        String c = newCollection();
        List<String> tooMany = new ArrayList<>();
        for (int i = 0; i < 1001; i++) {
            tooMany.add("x" + i);
        }
        batchGet(c, java.util.Map.of("ids", tooMany)).then().statusCode(400).contentType(PROBLEM);
        batchGet(c, java.util.Map.of("ids", tooMany.subList(0, 1000)))
                .then()
                .statusCode(200)
                .body("missing", hasSize(1000));
        for (String bad : List.of("{\"ids\":\"x\"}", "[]", "{\"ids\":[1]}", "{\"ids\":[\"..\"]}", "{\"ids\":[", "{}")) {
            batchGet(c, bad).then().statusCode(400).contentType(PROBLEM);
        }
    }

    @Test
    void badInputIsAProblemAndChangesNothing() {
        String c = newCollection();
        String etag =
                put(c, "keep", "{\"ok\":true}").then().statusCode(201).extract().header("ETag");
        for (String malformed :
                List.of("{", "{\"a\":1}{}", "{'a':1}", "", "[1,]", "{\"a\":1,\"a\":2}", "NaN", "\"\u0001\"")) {
            given().contentType(JSON)
                    .body(malformed)
                    .put("/v1/{c}/docs/{id}", c, "keep")
                    .then()
                    .statusCode(400)
                    .contentType(PROBLEM)
                    .body("type", startsWith("urn:strata:problem:"))
                    .body("title", notNullValue())
                    .body("status", equalTo(400))
                    .body("detail", notNullValue());
        }
        byte[] invalidUtf8 = {'"', (byte) 0xC3, (byte) 0x28, '"'};
        given().contentType(JSON)
                .body(invalidUtf8)
                .put("/v1/{c}/docs/{id}", c, "keep")
                .then()
                .statusCode(400)
                .contentType(PROBLEM);
        given().contentType("text/plain")
                .body("{}")
                .put("/v1/{c}/docs/{id}", c, "keep")
                .then()
                .statusCode(415)
                .contentType(PROBLEM);
        String deep = "[".repeat(200) + "]".repeat(200);
        given().contentType(JSON)
                .body(deep)
                .put("/v1/{c}/docs/{id}", c, "keep")
                .then()
                .statusCode(400)
                .contentType(PROBLEM);
        byte[] big = new byte[1024 * 1024 + 10];
        java.util.Arrays.fill(big, (byte) ' ');
        big[0] = '1';
        given().contentType(JSON)
                .body(big)
                .put("/v1/{c}/docs/{id}", c, "keep")
                .then()
                .statusCode(413)
                .contentType(PROBLEM);
        given().get("/v1/{c}/docs/{id}", c, "keep")
                .then()
                .statusCode(200)
                .body("ok", equalTo(true))
                .header("ETag", etag);
        given().get("/v1/{c}/docs", c).then().body("items", hasSize(1));
    }

    @Test
    void badNamesAreRejected() {
        for (String collection : List.of("Upper", "-dash", "a".repeat(64), "sp%20ace", "_x")) {
            given().contentType(JSON)
                    .body("{}")
                    .put("/v1/" + collection + "/docs/ok")
                    .then()
                    .statusCode(400)
                    .contentType(PROBLEM);
        }
        String c = newCollection();
        for (String id : List.of("a%2Fb", "sp%20ace", "x".repeat(257), "%7Bbrace%7D", "caf%C3%A9", "a%00")) {
            given().urlEncodingEnabled(false)
                    .contentType(JSON)
                    .body("{}")
                    .put("/v1/" + c + "/docs/" + id)
                    .then()
                    .statusCode(400)
                    .contentType(PROBLEM);
        }
        // dot segments, encoded or not, are refused before routing: they never name a document or a list
        for (String id : List.of("%2E", "%2e", "%2E%2E", ".", "..", ".%2E")) {
            given().urlEncodingEnabled(false)
                    .contentType(JSON)
                    .body("{}")
                    .put("/v1/" + c + "/docs/" + id)
                    .then()
                    .statusCode(400)
                    .contentType(PROBLEM);
            given().urlEncodingEnabled(false)
                    .get("/v1/" + c + "/docs/" + id)
                    .then()
                    .statusCode(400)
                    .contentType(PROBLEM);
        }
        given().get("/v1/{c}/docs", c).then().body("items", empty());
        given().urlEncodingEnabled(false)
                .contentType(JSON)
                .body("{}")
                .put("/v1/" + c + "/docs/A-z.0_9~:@x")
                .then()
                .statusCode(201);
        // ":" and "@" may also arrive escaped (some clients escape every reserved character): the same document
        given().urlEncodingEnabled(false)
                .get("/v1/" + c + "/docs/A-z.0_9~%3A%40x")
                .then()
                .statusCode(200);
        put(c, "x".repeat(256), "{}").then().statusCode(201);
    }

    @Test
    void aListPageEndsAtItsByteBudgetAndNextContinues() {
        String c = newCollection();
        String big = "\"" + "x".repeat(300_000) + "\"";
        for (int i = 0; i < 5; i++) {
            put(c, "big-" + i, big).then().statusCode(201);
        }
        // 1 MiB of bodies per page: three documents of 300 kB, though ten were asked for
        Response first = given().queryParam("limit", 10).get("/v1/{c}/docs", c);
        first.then().statusCode(200).body("items", hasSize(3)).body("next", notNullValue());
        given().queryParam("limit", 10)
                .queryParam("after", first.path("next").toString())
                .get("/v1/{c}/docs", c)
                .then()
                .statusCode(200)
                .body("items.id", contains("big-3", "big-4"))
                .body("next", nullValue());
    }

    @Test
    void batchGetAnswersWithinItsByteBudgetFromStorageAndFromTheCache() {
        String c = newCollection();
        String big = "\"" + "y".repeat(300_000) + "\"";
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add("b" + (char) ('a' + i));
            put(c, ids.get(i), big).then().statusCode(201);
        }
        for (int round = 0; round < 2; round++) { // from storage (the first read), then from the cache
            Response batch = batchGet(c, java.util.Map.of("ids", ids));
            batch.then().statusCode(200);
            List<String> found = batch.path("found.id");
            List<String> unprocessed = batch.path("unprocessed");
            assertEquals(ids.size(), found.size() + unprocessed.size(), "round " + round);
            assertTrue(found.size() * 300_002L <= 4L << 20, "within 4 MiB: " + found.size() + " documents");
            assertTrue(found.size() >= 10, "the budget is used: " + found.size());
            assertEquals(ids.subList(0, found.size()), found, "in the order asked");
            List<String> rest =
                    batchGet(c, java.util.Map.of("ids", unprocessed)).path("found.id");
            assertEquals(unprocessed, rest, "asking again for the unprocessed ids gets them");
        }
    }

    @Test
    void aPatchWhoseResultExceedsTheBodyLimitIsRefusedAndChangesNothing() {
        String c = newCollection();
        Response created = put(c, "grows", "{\"a\":\"" + "z".repeat(600_000) + "\"}");
        created.then().statusCode(201);
        given().contentType("application/merge-patch+json")
                .body("{\"b\":\"" + "w".repeat(600_000) + "\"}")
                .patch("/v1/{c}/docs/{id}", c, "grows")
                .then()
                .statusCode(413)
                .contentType(PROBLEM);
        given().get("/v1/{c}/docs/{id}", c, "grows").then().statusCode(200).header("ETag", created.header("ETag"));
    }

    @Test
    void mergePatchKeepsOrderRemovesNullsAndReplacesNonObjects() {
        String c = newCollection();
        put(c, "m", "{\"a\":1,\"b\":{\"x\":1,\"y\":[1,2]},\"c\":\"keep\",\"d\":true}")
                .then()
                .statusCode(201);
        given().contentType("application/merge-patch+json")
                .body("{\"a\":null,\"b\":{\"y\":null,\"z\":{\"n\":null,\"m\":2}},\"d\":[3],\"e\":{\"f\":null,\"g\":1}}")
                .patch("/v1/{c}/docs/{id}", c, "m")
                .then()
                .statusCode(200);
        assertEquals(
                "{\"b\":{\"x\":1,\"z\":{\"m\":2}},\"c\":\"keep\",\"d\":[3],\"e\":{\"g\":1}}",
                given().get("/v1/{c}/docs/{id}", c, "m").asString());
        given().contentType("application/merge-patch+json")
                .body("[\"whole\"]")
                .patch("/v1/{c}/docs/{id}", c, "m")
                .then()
                .statusCode(200);
        assertEquals("[\"whole\"]", given().get("/v1/{c}/docs/{id}", c, "m").asString());
    }

    @Test
    void unknownRoutesAndMethodsAreProblems() {
        given().get("/v1").then().statusCode(404).contentType(PROBLEM);
        given().post("/v1/abc/docs/x").then().statusCode(405).contentType(PROBLEM);
    }

    @Test
    void openApiDescribesTheApi() {
        String openapi = Management.given()
                .queryParam("format", "json")
                .get("/q/openapi")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        for (String expected : List.of(
                "/v1/{collection}/docs/{id}",
                "/v1/{collection}/docs:batchGet",
                "ETag",
                "Cache-Status",
                "If-Match",
                "If-None-Match",
                "application/problem+json",
                "\"412\"",
                "\"413\"",
                "\"415\"",
                "\"304\"")) {
            assertTrue(openapi.contains(expected), "OpenAPI mentions " + expected);
        }
    }

    @Test
    void inputTheFuzzTestFoundIsRefusedAndChangesNothing() {
        String c = "fuzz-found-" + UUID.randomUUID().toString().substring(0, 8);
        String etag = given().contentType("application/json")
                .body("{\"v\":1}")
                .put("/v1/{c}/docs/{id}", c, "d")
                .then()
                .statusCode(201)
                .extract()
                .header("ETag");
        String version = etag.replace("\"", "");
        // a tag is compared as a string: "007" is not "7"
        given().contentType("application/json")
                .header("If-Match", "\"00" + version + "\"")
                .body("{\"v\":2}")
                .put("/v1/{c}/docs/{id}", c, "d")
                .then()
                .statusCode(412)
                .contentType("application/problem+json");
        given().header("If-Match", "\"0" + version + "\"")
                .delete("/v1/{c}/docs/{id}", c, "d")
                .then()
                .statusCode(412);
        // a byte order mark, and a lone surrogate escape, are not JSON text Strata stores
        given().contentType("application/json")
                .body(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{', '}'})
                .put("/v1/{c}/docs/{id}", c, "d")
                .then()
                .statusCode(400)
                .contentType("application/problem+json");
        given().contentType("application/json")
                .body("\"\\ud800x\"")
                .put("/v1/{c}/docs/{id}", c, "d")
                .then()
                .statusCode(400);
        given().contentType("application/json")
                .body("{\"\\udc00\":1}")
                .put("/v1/{c}/docs/{id}", c, "d")
                .then()
                .statusCode(400);
        given().contentType("application/json")
                .body("\"\\ud83d\\ude00\"")
                .put("/v1/{c}/docs/{id}", c, "pair")
                .then()
                .statusCode(201);
        given().get("/v1/{c}/docs/{id}", c, "d")
                .then()
                .statusCode(200)
                .header("ETag", etag)
                .body(equalTo("{\"v\":1}"));
    }
}
