package io.strata.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The compatibility check: what it calls breaking, what it lets through, and the committed document against the released one. */
class ApiCompatibilityTest {

    private static OpenApiDocument released() throws Exception {
        return OpenApiDocument.read(OpenApiDocument.apiDir().resolve("released").resolve("openapi-v1.json"));
    }

    /** The breaking changes of the released document after {@code edit}. */
    private static List<String> after(Consumer<ObjectNode> edit) throws Exception {
        OpenApiDocument released = released();
        ObjectNode changed = released.root().deepCopy();
        edit.accept(changed);
        return ApiCompatibility.breakingChanges(released, new OpenApiDocument(changed));
    }

    private static ObjectNode at(ObjectNode root, String pointer) {
        return (ObjectNode) root.at(pointer);
    }

    @Test
    void theCommittedDocumentKeepsTheReleasedContract() throws Exception {
        OpenApiDocument committed =
                OpenApiDocument.read(OpenApiDocument.apiDir().resolve("openapi-v1.json"));
        List<String> undeclared = ApiCompatibility.undeclaredBreakingChanges(committed);
        assertTrue(undeclared.isEmpty(), ApiCompatibility.explain(undeclared));
    }

    @Test
    void theReleasedDocumentIsCompatibleWithItself() throws Exception {
        assertEquals(List.of(), after(root -> {}));
    }

    @Test
    void removedPathsOperationsAnswersAndHeadersAreBreaking() throws Exception {
        assertEquals(
                List.of("/v1/{collection}/docs: removed path"),
                after(root -> at(root, "/paths").remove("/v1/{collection}/docs")));
        assertEquals(
                List.of("PATCH /v1/{collection}/docs/{id}: removed operation"),
                after(root -> at(root, "/paths/~1v1~1{collection}~1docs~1{id}").remove("patch")));
        assertEquals(
                List.of("GET /v1/{collection}/docs/{id} 304: removed response"),
                after(root -> at(root, "/paths/~1v1~1{collection}~1docs~1{id}/get/responses")
                        .remove("304")));
        assertEquals(
                List.of("GET /v1/{collection}/docs/{id} 200 header ETag: removed header"),
                after(root -> at(root, "/paths/~1v1~1{collection}~1docs~1{id}/get/responses/200/headers")
                        .remove("ETag")));
        assertEquals(
                List.of("PUT /v1/{collection}/docs/{id} 201 header Location: no longer required"),
                after(root -> at(root, "/components/headers/Location").put("required", false)).stream()
                        .filter(c -> c.startsWith("PUT"))
                        .toList());
    }

    @Test
    void answersThatPromiseLessAreBreaking() throws Exception {
        List<String> removed =
                after(root -> at(root, "/components/schemas/Page/properties").remove("next"));
        assertTrue(
                removed.contains("GET /v1/{collection}/docs 200 application/json schema/next: removed field"),
                removed.toString());
        List<String> optional = after(root -> ((ArrayNode) root.at("/components/schemas/Item/required")).remove(1));
        assertTrue(
                optional.contains(
                        "GET /v1/{collection}/docs 200 application/json schema/items/[]/version: field no longer required"),
                optional.toString());
        List<String> widened = after(root -> at(root, "/components/schemas/Item/properties/version")
                .putArray("type")
                .add("integer")
                .add("null"));
        assertTrue(
                widened.contains(
                        "POST /v1/{collection}/docs:batchGet 200 application/json schema/found/[]/version: widened type "
                                + "[integer] -> [integer, null]"),
                widened.toString());
    }

    @Test
    void inputsThatAcceptLessAreBreaking() throws Exception {
        assertEquals(
                List.of(
                        "POST /v1/{collection}/docs:batchGet request body application/json schema/ids: maxItems 1000 -> 100"),
                after(root -> at(root, "/components/schemas/BatchGetRequest/properties/ids")
                        .put("maxItems", 100)));
        assertEquals(
                List.of("POST /admin/keys request body application/json schema/rateLimit: new required field"),
                after(root -> ((ArrayNode) root.at("/components/schemas/KeyRequest/required")).add("rateLimit")));
        assertEquals(
                List.of("GET /v1/{collection}/docs parameter query limit: narrowed type [integer] -> [string]"),
                after(root -> root.at("/paths/~1v1~1{collection}~1docs/get/parameters")
                                .elements()
                                .forEachRemaining(p -> {
                                    if (p.path("name").asText().equals("limit")) {
                                        ((ObjectNode) p.get("schema")).put("type", "string");
                                    }
                                }))
                        .stream()
                        .map(c -> c.replace(" schema:", ":"))
                        .toList());
        List<String> required = after(root -> ((ArrayNode) root.at("/paths/~1v1~1{collection}~1docs/get/parameters"))
                .addObject()
                .put("name", "tenant")
                .put("in", "query")
                .put("required", true)
                .putObject("schema")
                .put("type", "string"));
        assertEquals(List.of("GET /v1/{collection}/docs parameter query tenant: new required parameter"), required);
        List<String> scopes =
                after(root -> ((ArrayNode) root.at("/paths/~1admin~1keys/get/security/0/bearer")).set(0, "keys"));
        assertEquals(
                List.of("GET /admin/keys: changed security [{\"bearer\":[\"admin\"]}] -> [{\"bearer\":[\"keys\"]}]"),
                scopes);
    }

    @Test
    void additionsThatOldClientsIgnoreAreNotBreaking() throws Exception {
        assertEquals(List.of(), after(root -> {
            at(root, "/components/schemas/Page/properties").putObject("total").put("type", "integer");
            at(root, "/components/schemas/BatchGetRequest/properties/ids").put("maxItems", 5000);
            ((ArrayNode) root.at("/paths/~1v1~1{collection}~1docs/get/parameters"))
                    .addObject()
                    .put("name", "prefix")
                    .put("in", "query")
                    .putObject("schema")
                    .put("type", "string");
            at(root, "/paths")
                    .putObject("/v1/{collection}/stats")
                    .putObject("get")
                    .putObject("responses")
                    .putObject("200")
                    .put("description", "stats");
        }));
    }

    @Test
    void aDeclaredChangeIsLetThroughAndOnlyThatOne() throws Exception {
        java.nio.file.Path declared = java.nio.file.Files.createTempFile("declared", ".txt");
        java.nio.file.Files.writeString(
                declared, "# the list page lost its cursor for a reason\n/v1/{collection}/docs: removed path\n");
        assertEquals(java.util.Set.of("/v1/{collection}/docs: removed path"), ApiCompatibility.declared(declared));
        java.nio.file.Files.delete(declared);
    }
}
