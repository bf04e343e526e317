package io.strata.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.function.Executable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.strata.client.ApiClient;
import io.strata.client.ApiException;
import io.strata.client.api.DocumentsApi;
import io.strata.client.api.KeysApi;
import io.strata.client.model.BatchGetRequest;
import io.strata.client.model.BatchGetResult;
import io.strata.client.model.CreatedKey;
import io.strata.client.model.Item;
import io.strata.client.model.KeyRequest;
import io.strata.client.model.Page;
import io.strata.client.model.Problem;

/**
 * The contract suite: the client generated from {@code api/openapi-v1.json} drives a packaged gateway.
 * Each test checks what it does; every exchange is then checked against the document
 * ({@link ExchangeCheck}), and the document the gateway serves against the committed one and the
 * released one. When the document and the behaviour disagree, this suite fails.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiContractIT {

    private final Exchanges exchanges = new Exchanges();
    private final ContractGateway gateway = new ContractGateway();
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private OpenApiDocument committed;
    private KeysApi admin;
    private DocumentsApi documents;
    private ApiClient documentsClient;

    @BeforeAll
    void start() throws Exception {
        Path reports = Path.of(System.getProperty("strata.report.dir", "target"));
        Files.createDirectories(reports);
        committed = OpenApiDocument.read(OpenApiDocument.apiDir().resolve("openapi-v1.json"));
        gateway.start(Path.of(System.getProperty("strata.gateway.jar")), reports.resolve("contract-gateway.log"));
        admin = new KeysApi(client(gateway.adminKey));
        CreatedKey key =
                admin.createKey(new KeyRequest().name("contract " + run).scopes(List.of("write:c" + run + "-*")));
        documentsClient = client(key.getSecret());
        documents = new DocumentsApi(documentsClient);
    }

    @AfterAll
    void stop() throws Exception {
        gateway.close();
    }

    private ApiClient client(String key) {
        ApiClient client = new ApiClient(exchanges.httpClient());
        // the document's server, with this gateway's address for its host variable
        client.setServerIndex(0);
        client.setServerVariables(Map.of("host", gateway.baseUrl().substring("http://".length())));
        if (key != null) {
            client.setBearerToken(key);
        }
        return client;
    }

    private String collection(String name) {
        return "c" + run + "-" + name;
    }

    private String header(String name) {
        List<String> values = documentsClient.getResponseHeaders().get(name);
        if (values == null) {
            values = documentsClient.getResponseHeaders().entrySet().stream()
                    .filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(Map.Entry::getValue)
                    .findFirst()
                    .orElse(null);
        }
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** The problem an operation was refused with, read into the generated model. */
    private Problem problem(int status, String type, Executable call) {
        ApiException refused = assertThrows(ApiException.class, call);
        assertEquals(status, refused.getCode(), () -> "answer: " + refused.getResponseBody());
        Problem problem;
        try {
            problem = documentsClient.getObjectMapper().readValue(refused.getResponseBody(), Problem.class);
        } catch (Exception e) {
            throw new AssertionError("not a problem: " + refused.getResponseBody(), e);
        }
        assertEquals(java.net.URI.create("urn:strata:problem:" + type), problem.getType());
        assertEquals(status, problem.getStatus());
        assertNotNull(problem.getTitle());
        assertNotNull(problem.getDetail());
        String contentType = refused.getResponseHeaders().entrySet().stream()
                .filter(e -> e.getKey().equalsIgnoreCase("Content-Type"))
                .map(e -> e.getValue().get(0))
                .findFirst()
                .orElse("");
        assertTrue(contentType.startsWith("application/problem+json"), contentType);
        return problem;
    }

    private static Map<String, Object> doc(Object... pairs) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put((String) pairs[i], pairs[i + 1]);
        }
        return map;
    }

    @Test
    @Order(1)
    void documentsAreWrittenAndReadWithPreconditions() throws Exception {
        String c = collection("crud");
        Object created = documents.putDocument(c, "dune", doc("title", "Dune", "year", 1965), null, "*");
        assertEquals(doc("title", "Dune", "year", 1965), created);
        assertEquals(201, documentsClient.getStatusCode());
        String v1 = header("ETag");
        assertTrue(v1.matches("\"[0-9]+\""), v1);
        assertEquals(
                java.net.URI.create(gateway.baseUrl() + "/v1/" + c + "/docs/dune"),
                java.net.URI.create(header("Location")));

        assertEquals(doc("title", "Dune", "year", 1965), documents.getDocument(c, "dune", null, null));
        assertEquals(v1, header("ETag"));
        assertNotNull(header("Cache-Status"));

        problem(412, "precondition-failed", () -> documents.putDocument(c, "dune", doc("title", "Dune"), null, "*"));
        problem(
                412,
                "precondition-failed",
                () -> documents.putDocument(c, "dune", doc("title", "Dune"), "\"999999\"", null));
        documents.putDocument(c, "dune", doc("title", "Dune", "year", 1966), v1, null);
        assertEquals(200, documentsClient.getStatusCode());
        String v2 = header("ETag");
        assertNotEquals(v1, v2);

        problem(412, "precondition-failed", () -> documents.deleteDocument(c, "dune", v1));
        documents.deleteDocument(c, "dune", v2);
        assertEquals(204, documentsClient.getStatusCode());
        problem(404, "not-found", () -> documents.getDocument(c, "dune", null, null));
        problem(404, "not-found", () -> documents.deleteDocument(c, "dune", null));
    }

    @Test
    @Order(2)
    void conditionalReadsAnswer304AndHeadAnswersWithoutBody() throws Exception {
        String c = collection("cond");
        documents.putDocument(c, "emma", doc("title", "Emma"), null, null);
        String etag = header("ETag");
        ApiException notModified = assertThrows(ApiException.class, () -> documents.getDocument(c, "emma", null, etag));
        assertEquals(304, notModified.getCode());
        assertEquals(etag, exchanges.last().header("ETag"));
        assertEquals(0, exchanges.last().body().length);
        assertEquals(doc("title", "Emma"), documents.getDocument(c, "emma", "no-cache", "\"0\""));

        documents.headDocument(c, "emma", null, null);
        assertEquals(200, documentsClient.getStatusCode());
        assertEquals(etag, header("ETag"));
        ApiException headNotModified =
                assertThrows(ApiException.class, () -> documents.headDocument(c, "emma", null, etag));
        assertEquals(304, headNotModified.getCode());
        ApiException headMissing =
                assertThrows(ApiException.class, () -> documents.headDocument(c, "nobody", null, null));
        assertEquals(404, headMissing.getCode());
    }

    @Test
    @Order(3)
    void listPagesFollowTheirCursor() throws Exception {
        String c = collection("list");
        List<String> ids = List.of("a", "b", "c", "d", "e");
        for (String id : ids) {
            documents.putDocument(c, id, doc("id", id), null, null);
        }
        List<String> seen = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        String after = null;
        do {
            Page page = documents.listDocuments(c, after, 2);
            page.getItems().forEach(item -> {
                seen.add(item.getId());
                assertEquals(doc("id", item.getId()), item.getDoc());
                assertTrue(item.getVersion() > 0);
            });
            sizes.add(page.getItems().size());
            after = page.getNext();
        } while (after != null);
        assertEquals(ids, seen);
        assertEquals(List.of(2, 2, 1), sizes);
        assertEquals(
                ids,
                documents.listDocuments(c, null, null).getItems().stream()
                        .map(Item::getId)
                        .toList());

        problem(400, "invalid-limit", () -> documents.listDocuments(c, null, 0));
        problem(400, "invalid-limit", () -> documents.listDocuments(c, null, 1001));
        problem(400, "invalid-cursor", () -> documents.listDocuments(c, "*not-a-cursor*", null));
    }

    @Test
    @Order(4)
    void pagesAndBatchesEndAtTheirByteBudgetsAndBatchesNameTheRest() throws Exception {
        String c = collection("big");
        // five documents of ~900 KB: a list page (1 MiB of documents) holds one, a batchGet (4 MiB) four
        String filler = "x".repeat(900_000);
        List<String> ids = List.of("big-1", "big-2", "big-3", "big-4", "big-5");
        for (String id : ids) {
            documents.putDocument(c, id, doc("id", id, "filler", filler), null, null);
        }
        Page first = documents.listDocuments(c, null, 10);
        assertEquals(1, first.getItems().size());
        assertNotNull(first.getNext());

        List<String> asked = new ArrayList<>(ids);
        asked.add("absent");
        BatchGetResult result = documents.batchGetDocuments(c, new BatchGetRequest().ids(asked));
        List<String> found = result.getFound().stream().map(Item::getId).toList();
        assertEquals(List.of("absent"), result.getMissing());
        assertFalse(result.getUnprocessed().isEmpty(), "over 4 MiB, some ids are left for another request");
        List<String> answered = new ArrayList<>(found);
        answered.addAll(result.getMissing());
        answered.addAll(result.getUnprocessed());
        Collections.sort(answered);
        List<String> sortedAsked = new ArrayList<>(asked);
        Collections.sort(sortedAsked);
        assertEquals(sortedAsked, answered, "each id is in exactly one list");

        BatchGetResult rest = documents.batchGetDocuments(c, new BatchGetRequest().ids(result.getUnprocessed()));
        assertEquals(
                result.getUnprocessed(),
                rest.getFound().stream().map(Item::getId).toList());
        assertTrue(rest.getMissing().isEmpty() && rest.getUnprocessed().isEmpty());
        for (Item item : rest.getFound()) {
            assertEquals(doc("id", item.getId(), "filler", filler), item.getDoc());
        }

        List<String> tooMany = IntStream.range(0, 1001).mapToObj(i -> "id" + i).collect(Collectors.toList());
        problem(400, "too-many-ids", () -> documents.batchGetDocuments(c, new BatchGetRequest().ids(tooMany)));
        problem(
                400,
                "invalid-id",
                () -> documents.batchGetDocuments(c, new BatchGetRequest().ids(List.of("not an id"))));
    }

    @Test
    @Order(5)
    void mergePatchChangesTheDocument() throws Exception {
        String c = collection("patch");
        documents.putDocument(c, "dune", doc("title", "Dune", "year", 1965), null, null);
        String v1 = header("ETag");
        // a tree keeps the null that removes a member (the client's mapper leaves nulls out of maps)
        ObjectNode patch =
                OpenApiDocument.JSON.createObjectNode().putNull("year").put("author", "Herbert");
        Object patched = documents.patchDocument(c, "dune", patch, v1);
        assertEquals(doc("title", "Dune", "author", "Herbert"), patched);
        String v2 = header("ETag");
        assertNotEquals(v1, v2);
        assertEquals(doc("title", "Dune", "author", "Herbert"), documents.getDocument(c, "dune", null, null));
        problem(412, "precondition-failed", () -> documents.patchDocument(c, "dune", doc("year", 1), v1));
        problem(404, "not-found", () -> documents.patchDocument(c, "nobody", doc("year", 1), null));
        assertEquals(
                doc("title", "Dune", "author", "Herbert"),
                documents.getDocument(c, "dune", null, null),
                "refusals change nothing");
    }

    @Test
    @Order(6)
    void badRequestsAreTypedProblems() throws Exception {
        String c = collection("bad");
        // scopes are checked first: a name no scope can cover is refused as such only to an admin key
        problem(403, "forbidden", () -> documents.getDocument("Upper", "x", null, null));
        DocumentsApi anyCollection = new DocumentsApi(client(gateway.adminKey));
        problem(400, "invalid-collection", () -> anyCollection.getDocument("Upper", "x", null, null));
        problem(400, "invalid-id", () -> documents.getDocument(c, "x".repeat(257), null, null));
        // the client escapes the space: an escape other than %3A and %40 is not a canonical path
        problem(400, "non-canonical-path", () -> documents.getDocument(c, "a b", null, null));
        problem(
                400,
                "invalid-key",
                () -> admin.createKey(new KeyRequest().name("wide").scopes(List.of("read:tenant-a*"))));
        problem(
                413,
                "too-large",
                () -> documents.putDocument(c, "huge", doc("filler", "x".repeat(1_100_000)), null, null));
        problem(404, "not-found", () -> documents.getDocument(c, "never-written", null, null));
    }

    @Test
    @Order(7)
    void keysAreRequiredScopedAndLimited() throws Exception {
        String c = collection("auth");
        DocumentsApi anonymous = new DocumentsApi(client(null));
        Problem missing = problem(401, "unauthorized", () -> anonymous.getDocument(c, "x", null, null));
        assertTrue(missing.getDetail().contains("Bearer"));
        assertEquals("Bearer realm=\"strata\"", exchanges.last().header("WWW-Authenticate"));
        problem(
                401,
                "unauthorized",
                () -> new DocumentsApi(client("sk_" + "0".repeat(40))).getDocument(c, "x", null, null));

        CreatedKey reader =
                admin.createKey(new KeyRequest().name("reader " + run).scopes(List.of("read:" + c)));
        DocumentsApi readOnly = new DocumentsApi(client(reader.getSecret()));
        problem(404, "not-found", () -> readOnly.getDocument(c, "x", null, null));
        problem(403, "forbidden", () -> readOnly.putDocument(c, "x", doc(), null, null));
        problem(403, "forbidden", () -> readOnly.getDocument(c + "-other", "x", null, null));
        problem(403, "forbidden", () -> new KeysApi(client(reader.getSecret())).listKeys());

        CreatedKey limited = admin.createKey(new KeyRequest()
                .name("limited " + run)
                .scopes(List.of("read:" + c))
                .rateLimit(2));
        DocumentsApi slow = new DocumentsApi(client(limited.getSecret()));
        Problem refused = null;
        for (int i = 0; i < 12 && refused == null; i++) {
            try {
                slow.getDocument(c, "x", null, null);
            } catch (ApiException e) {
                if (e.getCode() == 429) {
                    refused = problem(429, "rate-limited", () -> {
                        throw e;
                    });
                }
            }
        }
        assertNotNull(refused, "a key limited to 2 requests per second is refused within 12 quick requests");
        Exchanges.Exchange answer = exchanges.last();
        assertNotNull(answer.header("Retry-After"));
        assertEquals("2", answer.header("RateLimit-Limit"));
        assertEquals("0", answer.header("RateLimit-Remaining"));

        String id = limited.getId();
        assertTrue(
                admin.listKeys().getItems().stream().anyMatch(k -> k.getId().equals(id) && k.getRevokedAt() == null));
        admin.revokeKey(id);
        problem(401, "unauthorized", () -> slow.getDocument(c, "x", null, null));
        problem(404, "not-found", () -> admin.revokeKey("key_never_issued"));
    }

    @Test
    @Order(100)
    void everyAnswerIsOneTheDocumentDescribes() {
        ExchangeCheck check = new ExchangeCheck(committed);
        List<String> disagreements = new ArrayList<>();
        for (Exchanges.Exchange exchange : exchanges.all()) {
            check.check(exchange).forEach(p -> disagreements.add(exchange + ": " + p));
        }
        assertTrue(
                exchanges.all().size() > 50,
                "the suite made its requests: " + exchanges.all().size());
        assertTrue(
                disagreements.isEmpty(),
                "answers the document does not describe:\n  " + String.join("\n  ", disagreements));
    }

    @Test
    @Order(100)
    void theDocumentAndSwaggerUiAreServedOnTheManagementPortOnly() throws Exception {
        for (String path : List.of("/q/openapi", "/q/swagger-ui/")) {
            int[] statuses = gateway.statusOnBothPorts(path);
            assertEquals(200, statuses[0], path + " on the management port");
            // 404, or 400 for the trailing slash, which no API path has
            assertTrue(statuses[1] == 404 || statuses[1] == 400, path + " on the API port: " + statuses[1]);
        }
    }

    @Test
    @Order(101)
    void theServedDocumentIsTheCommittedOne() throws Exception {
        String served = gateway.servedDocument();
        JsonNode tree = OpenApiDocument.JSON.readTree(served);
        if (!tree.equals(committed.root())) {
            Path copy = Path.of(System.getProperty("strata.report.dir", "target"), "openapi-served.json");
            Files.writeString(copy, served);
            fail("the gateway serves a document that differs from api/openapi-v1.json:\n  "
                    + String.join("\n  ", OpenApiDocument.differences(committed.root(), tree, 30))
                    + "\nReview the change, then: cp " + copy.toAbsolutePath().normalize() + " api/openapi-v1.json");
        }
    }

    @Test
    @Order(102)
    void theServedDocumentKeepsTheReleasedContract() throws Exception {
        OpenApiDocument served = OpenApiDocument.parse(gateway.servedDocument());
        List<String> undeclared = ApiCompatibility.undeclaredBreakingChanges(served);
        assertTrue(undeclared.isEmpty(), ApiCompatibility.explain(undeclared));
    }

    @Test
    @Order(103)
    void everyOperationWasExercised() {
        List<String> operations = new ArrayList<>();
        committed
                .root()
                .path("paths")
                .fields()
                .forEachRemaining(path -> path.getValue().fieldNames().forEachRemaining(method -> {
                    if (OpenApiDocument.METHODS.contains(method)) {
                        operations.add(method.toUpperCase() + " " + path.getKey());
                    }
                }));
        List<String> exercised = exchanges.all().stream()
                .map(e -> committed
                        .operation(e.method(), e.path())
                        .map(o -> o.method().toUpperCase() + " " + o.template())
                        .orElse(""))
                .distinct()
                .toList();
        List<String> untouched =
                operations.stream().filter(o -> !exercised.contains(o)).toList();
        assertTrue(untouched.isEmpty(), "operations the contract suite never called: " + untouched);
    }
}
