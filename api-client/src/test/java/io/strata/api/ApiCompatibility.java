package io.strata.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Breaking changes between the released v1 document and a newer one: what a client built against the
 * released document would stop working with. Removed paths, operations, answers, headers, media types
 * and response fields; answers that may now lack a field or carry a wider type; inputs that became
 * required or narrower (type, bounds, pattern, enum, new required fields); changed scopes.
 *
 * <p>Each change is one line, such as {@code GET /v1/{collection}/docs: removed operation}. A change
 * is allowed only when that exact line is listed in {@code api/declared-breaking-changes.txt}.
 */
final class ApiCompatibility {

    private static final int MAX_DEPTH = 16;

    private final OpenApiDocument released;
    private final OpenApiDocument current;
    private final List<String> changes = new ArrayList<>();

    private ApiCompatibility(OpenApiDocument released, OpenApiDocument current) {
        this.released = released;
        this.current = current;
    }

    static List<String> breakingChanges(OpenApiDocument released, OpenApiDocument current) {
        ApiCompatibility compatibility = new ApiCompatibility(released, current);
        compatibility.comparePaths();
        return List.copyOf(new LinkedHashSet<>(compatibility.changes));
    }

    /** Breaking changes of {@code current} against {@code api/released/openapi-v1.json} that are not declared. */
    static List<String> undeclaredBreakingChanges(OpenApiDocument current) throws IOException {
        Path dir = OpenApiDocument.apiDir();
        OpenApiDocument released = OpenApiDocument.read(dir.resolve("released").resolve("openapi-v1.json"));
        Set<String> declared = declared(dir.resolve("declared-breaking-changes.txt"));
        return breakingChanges(released, current).stream()
                .filter(change -> !declared.contains(change))
                .toList();
    }

    static Set<String> declared(Path file) {
        Set<String> declared = new TreeSet<>();
        try {
            for (String line : Files.readAllLines(file)) {
                String change = line.strip();
                if (!change.isEmpty() && !change.startsWith("#")) {
                    declared.add(change);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return declared;
    }

    static String explain(List<String> undeclared) {
        return "breaking changes against the released v1 document (api/released/openapi-v1.json):\n  "
                + String.join("\n  ", undeclared)
                + "\nA v1 client would break. Keep the change compatible, or, if it must ship in v1, list each line above in "
                + "api/declared-breaking-changes.txt with the reason in a comment.";
    }

    private void comparePaths() {
        Iterator<String> paths = released.root().path("paths").fieldNames();
        while (paths.hasNext()) {
            String path = paths.next();
            JsonNode newItem = current.root().path("paths").get(path);
            if (newItem == null) {
                changes.add(path + ": removed path");
                continue;
            }
            JsonNode oldItem = released.root().path("paths").get(path);
            for (String method : OpenApiDocument.METHODS) {
                JsonNode oldOperation = oldItem.get(method);
                if (oldOperation == null) {
                    continue;
                }
                String operation = method.toUpperCase() + " " + path;
                JsonNode newOperation = newItem.get(method);
                if (newOperation == null) {
                    changes.add(operation + ": removed operation");
                } else {
                    compareOperation(operation, oldOperation, newOperation);
                }
            }
        }
    }

    private void compareOperation(String operation, JsonNode oldOp, JsonNode newOp) {
        if (!security(released, oldOp).equals(security(current, newOp))) {
            changes.add(
                    operation + ": changed security " + security(released, oldOp) + " -> " + security(current, newOp));
        }
        compareParameters(operation, oldOp, newOp);
        compareRequestBody(operation, oldOp.get("requestBody"), newOp.get("requestBody"));
        JsonNode oldResponses = oldOp.path("responses");
        Iterator<String> statuses = oldResponses.fieldNames();
        while (statuses.hasNext()) {
            String status = statuses.next();
            JsonNode newResponse = newOp.path("responses").get(status);
            if (newResponse == null) {
                changes.add(operation + " " + status + ": removed response");
                continue;
            }
            compareResponse(
                    operation + " " + status, released.resolve(oldResponses.get(status)), current.resolve(newResponse));
        }
    }

    private static String security(OpenApiDocument document, JsonNode operation) {
        JsonNode security = operation.has("security")
                ? operation.get("security")
                : document.root().path("security");
        return security.toString();
    }

    private void compareParameters(String operation, JsonNode oldOp, JsonNode newOp) {
        for (JsonNode oldRef : oldOp.path("parameters")) {
            JsonNode oldParam = released.resolve(oldRef);
            String name =
                    oldParam.path("in").asText() + " " + oldParam.path("name").asText();
            JsonNode newParam = parameter(
                    current,
                    newOp,
                    oldParam.path("in").asText(),
                    oldParam.path("name").asText());
            if (newParam == null) {
                changes.add(operation + " parameter " + name + ": removed parameter");
                continue;
            }
            if (newParam.path("required").asBoolean(false)
                    && !oldParam.path("required").asBoolean(false)) {
                changes.add(operation + " parameter " + name + ": now required");
            }
            compareSchema(
                    operation + " parameter " + name, oldParam.get("schema"), newParam.get("schema"), true, "", 0);
        }
        for (JsonNode newRef : newOp.path("parameters")) {
            JsonNode newParam = current.resolve(newRef);
            if (newParam.path("required").asBoolean(false)
                    && parameter(
                                    released,
                                    oldOp,
                                    newParam.path("in").asText(),
                                    newParam.path("name").asText())
                            == null) {
                changes.add(operation + " parameter " + newParam.path("in").asText() + " "
                        + newParam.path("name").asText() + ": new required parameter");
            }
        }
    }

    private static JsonNode parameter(OpenApiDocument document, JsonNode operation, String in, String name) {
        for (JsonNode ref : operation.path("parameters")) {
            JsonNode parameter = document.resolve(ref);
            if (parameter.path("in").asText().equals(in)
                    && parameter.path("name").asText().equalsIgnoreCase(name)) {
                return parameter;
            }
        }
        return null;
    }

    private void compareRequestBody(String operation, JsonNode oldRef, JsonNode newRef) {
        if (newRef == null) {
            if (oldRef != null) {
                changes.add(operation + " request body: removed");
            }
            return;
        }
        JsonNode newBody = current.resolve(newRef);
        if (oldRef == null) {
            if (newBody.path("required").asBoolean(false)) {
                changes.add(operation + " request body: new required body");
            }
            return;
        }
        JsonNode oldBody = released.resolve(oldRef);
        if (newBody.path("required").asBoolean(false)
                && !oldBody.path("required").asBoolean(false)) {
            changes.add(operation + " request body: now required");
        }
        Iterator<String> types = oldBody.path("content").fieldNames();
        while (types.hasNext()) {
            String type = types.next();
            JsonNode newMedia = newBody.path("content").get(type);
            if (newMedia == null) {
                changes.add(operation + " request body " + type + ": removed media type");
            } else {
                compareSchema(
                        operation + " request body " + type,
                        oldBody.path("content").get(type).get("schema"),
                        newMedia.get("schema"),
                        true,
                        "",
                        0);
            }
        }
    }

    private void compareResponse(String where, JsonNode oldResponse, JsonNode newResponse) {
        Iterator<String> headers = oldResponse.path("headers").fieldNames();
        while (headers.hasNext()) {
            String header = headers.next();
            JsonNode newHeader = newResponse.path("headers").get(header);
            if (newHeader == null) {
                changes.add(where + " header " + header + ": removed header");
                continue;
            }
            JsonNode oldHeader = released.resolve(oldResponse.path("headers").get(header));
            newHeader = current.resolve(newHeader);
            if (oldHeader.path("required").asBoolean(false)
                    && !newHeader.path("required").asBoolean(false)) {
                changes.add(where + " header " + header + ": no longer required");
            }
            compareSchema(where + " header " + header, oldHeader.get("schema"), newHeader.get("schema"), false, "", 0);
        }
        Iterator<String> types = oldResponse.path("content").fieldNames();
        while (types.hasNext()) {
            String type = types.next();
            JsonNode newMedia = newResponse.path("content").get(type);
            if (newMedia == null) {
                changes.add(where + " " + type + ": removed media type");
            } else {
                compareSchema(
                        where + " " + type,
                        oldResponse.path("content").get(type).get("schema"),
                        newMedia.get("schema"),
                        false,
                        "",
                        0);
            }
        }
    }

    /**
     * {@code input}: a request's schema, which must accept all it accepted; otherwise an answer's, which
     * must promise all it promised.
     */
    private void compareSchema(String where, JsonNode oldRef, JsonNode newRef, boolean input, String at, int depth) {
        if (oldRef == null || newRef == null || depth > MAX_DEPTH) {
            if (oldRef == null && newRef != null && input) {
                changes.add(where + " " + pointer(at) + ": schema added to an input that took anything");
            }
            return;
        }
        JsonNode oldSchema = released.resolve(oldRef);
        JsonNode newSchema = current.resolve(newRef);
        String place = where + " " + pointer(at);
        Set<String> oldTypes = types(oldSchema);
        Set<String> newTypes = types(newSchema);
        if (input
                ? !newTypes.isEmpty() && (oldTypes.isEmpty() || !newTypes.containsAll(oldTypes))
                : !oldTypes.isEmpty() && (newTypes.isEmpty() || !oldTypes.containsAll(newTypes))) {
            changes.add(place + ": " + (input ? "narrowed" : "widened") + " type " + oldTypes + " -> " + newTypes);
        }
        if (!text(oldSchema, "format").equals(text(newSchema, "format"))
                && !(input && text(newSchema, "format").isEmpty())
                && !(!input && text(oldSchema, "format").isEmpty())) {
            changes.add(place + ": changed format " + text(oldSchema, "format") + " -> " + text(newSchema, "format"));
        }
        if (!text(oldSchema, "pattern").equals(text(newSchema, "pattern"))
                && !(input && text(newSchema, "pattern").isEmpty())
                && !(!input && text(oldSchema, "pattern").isEmpty())) {
            changes.add(
                    place + ": changed pattern " + text(oldSchema, "pattern") + " -> " + text(newSchema, "pattern"));
        }
        for (String bound : List.of("maximum", "maxLength", "maxItems")) {
            bound(place, bound, oldSchema, newSchema, input ? -1 : 1);
        }
        for (String bound : List.of("minimum", "minLength", "minItems")) {
            bound(place, bound, oldSchema, newSchema, input ? 1 : -1);
        }
        compareEnum(place, oldSchema.get("enum"), newSchema.get("enum"), input);
        compareProperties(where, oldSchema, newSchema, input, at, depth);
        if (oldSchema.has("items")) {
            compareSchema(where, oldSchema.get("items"), newSchema.get("items"), input, at + "/[]", depth + 1);
        }
    }

    /**
     * {@code breaking} is the sign of a move that breaks: -1 when a lower bound value breaks (an
     * input's maximum), +1 when a higher one does (an answer's maximum).
     */
    private void bound(String place, String name, JsonNode oldSchema, JsonNode newSchema, int breaking) {
        JsonNode oldValue = oldSchema.get(name);
        JsonNode newValue = newSchema.get(name);
        boolean upper = name.startsWith("max");
        if (oldValue == null && newValue == null) {
            return;
        }
        if (oldValue == null) {
            // a new bound narrows an input and promises more of an answer
            if ((upper && breaking < 0) || (!upper && breaking > 0)) {
                changes.add(place + ": new " + name + " " + newValue);
            }
            return;
        }
        if (newValue == null) {
            if ((upper && breaking > 0) || (!upper && breaking < 0)) {
                changes.add(place + ": removed " + name + " " + oldValue);
            }
            return;
        }
        int moved = newValue.decimalValue().compareTo(oldValue.decimalValue());
        if (moved != 0 && Integer.signum(moved) == breaking) {
            changes.add(place + ": " + name + " " + oldValue + " -> " + newValue);
        }
    }

    private void compareEnum(String place, JsonNode oldEnum, JsonNode newEnum, boolean input) {
        Set<String> oldValues = values(oldEnum);
        Set<String> newValues = values(newEnum);
        if (input) {
            if (newEnum != null && (oldEnum == null || !newValues.containsAll(oldValues))) {
                changes.add(place + ": narrowed enum " + oldValues + " -> " + newValues);
            }
        } else if (oldEnum != null && (newEnum == null || !oldValues.containsAll(newValues))) {
            changes.add(place + ": widened enum " + oldValues + " -> " + newValues);
        }
    }

    private void compareProperties(
            String where, JsonNode oldSchema, JsonNode newSchema, boolean input, String at, int depth) {
        Set<String> oldRequired = values(oldSchema.get("required"));
        Set<String> newRequired = values(newSchema.get("required"));
        if (input) {
            for (String name : newRequired) {
                if (!oldRequired.contains(name)) {
                    changes.add(where + " " + pointer(at + "/" + name) + ": new required field");
                }
            }
        } else {
            for (String name : oldRequired) {
                if (!newRequired.contains(name)) {
                    changes.add(where + " " + pointer(at + "/" + name) + ": field no longer required");
                }
            }
        }
        JsonNode oldProperties = oldSchema.path("properties");
        Iterator<String> names = oldProperties.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            JsonNode newProperty = newSchema.path("properties").get(name);
            if (newProperty == null) {
                if (!input) {
                    changes.add(where + " " + pointer(at + "/" + name) + ": removed field");
                }
                continue;
            }
            compareSchema(where, oldProperties.get(name), newProperty, input, at + "/" + name, depth + 1);
        }
    }

    private static Set<String> types(JsonNode schema) {
        Set<String> types = new TreeSet<>();
        JsonNode type = schema.get("type");
        if (type != null && type.isArray()) {
            type.forEach(t -> types.add(t.asText()));
        } else if (type != null) {
            types.add(type.asText());
        }
        return types;
    }

    private static Set<String> values(JsonNode array) {
        Set<String> values = new TreeSet<>();
        if (array != null) {
            array.forEach(v -> values.add(v.isTextual() ? v.asText() : v.toString()));
        }
        return values;
    }

    private static String text(JsonNode schema, String name) {
        return schema.path(name).asText("");
    }

    private static String pointer(String at) {
        return "schema" + at;
    }
}
