package io.strata.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** An OpenAPI document read as a JSON tree: operations by method and concrete path, references, the problem catalogue. */
final class OpenApiDocument {

    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> METHODS = List.of("get", "head", "put", "post", "patch", "delete", "options", "trace");
    private static final String PROBLEM_PREFIX = "urn:strata:problem:";

    private final JsonNode root;

    OpenApiDocument(JsonNode root) {
        this.root = root;
    }

    static OpenApiDocument read(Path file) throws IOException {
        return new OpenApiDocument(JSON.readTree(file.toFile()));
    }

    static OpenApiDocument parse(String json) throws IOException {
        return new OpenApiDocument(JSON.readTree(json));
    }

    JsonNode root() {
        return root;
    }

    /** The committed documents live in the repository's {@code api/} folder. */
    static Path apiDir() {
        return Path.of(System.getProperty("strata.api.dir", "../api"));
    }

    /** An operation, found by its method and a concrete request path. */
    record Operation(String method, String template, JsonNode node) {}

    Optional<Operation> operation(String method, String path) {
        Iterator<Map.Entry<String, JsonNode>> paths = root.path("paths").fields();
        while (paths.hasNext()) {
            Map.Entry<String, JsonNode> entry = paths.next();
            String regex = Pattern.quote(entry.getKey()).replaceAll("\\{[^}]+}", "\\\\E[^/]+\\\\Q");
            if (path.matches(regex)) {
                JsonNode operation = entry.getValue().get(method.toLowerCase(Locale.ROOT));
                return operation == null
                        ? Optional.empty()
                        : Optional.of(new Operation(method, entry.getKey(), operation));
            }
        }
        return Optional.empty();
    }

    /** Follows {@code $ref} (local references only) until a node that is not a reference. */
    JsonNode resolve(JsonNode node) {
        JsonNode current = node;
        for (int hops = 0; current != null && current.has("$ref") && hops < 20; hops++) {
            String ref = current.get("$ref").asText();
            if (!ref.startsWith("#/")) {
                throw new IllegalArgumentException("only local references are supported: " + ref);
            }
            current = root.at(ref.substring(1));
            if (current.isMissingNode()) {
                throw new IllegalArgumentException("unresolved reference " + ref);
            }
        }
        return current;
    }

    /** One row of the problem catalogue: a type and, for each status it is answered with, the title. */
    record ProblemType(String name, Map<Integer, String> titles) {}

    /** The catalogue: the table in the {@code Problem} schema's description. */
    Map<String, ProblemType> problemCatalogue() {
        String description = root.at("/components/schemas/Problem/description").asText("");
        return parseCatalogue(description);
    }

    /** Rows {@code | `urn:strata:problem:<name>` | 414, 431 | URI too long, Request header fields too large | when |}. */
    static Map<String, ProblemType> parseCatalogue(String markdown) {
        Map<String, ProblemType> catalogue = new LinkedHashMap<>();
        for (String line : markdown.split("\n")) {
            String[] cells = line.trim().split("\\|");
            if (cells.length < 5 || !cells[1].trim().startsWith("`" + PROBLEM_PREFIX)) {
                continue;
            }
            String name = cells[1].trim().replace("`", "").substring(PROBLEM_PREFIX.length());
            String[] statuses = cells[2].split(",");
            String[] titles = cells[3].split(",");
            if (statuses.length != titles.length) {
                throw new IllegalArgumentException("catalogue row for " + name + " has " + statuses.length
                        + " statuses and " + titles.length + " titles");
            }
            Map<Integer, String> byStatus = new LinkedHashMap<>();
            for (int i = 0; i < statuses.length; i++) {
                byStatus.put(Integer.parseInt(statuses[i].trim()), titles[i].trim());
            }
            if (catalogue.put(name, new ProblemType(name, byStatus)) != null) {
                throw new IllegalArgumentException("catalogue lists " + name + " twice");
            }
        }
        return catalogue;
    }

    /** Where two JSON trees differ, as JSON pointers (at most {@code max}). */
    static List<String> differences(JsonNode a, JsonNode b, int max) {
        List<String> out = new ArrayList<>();
        diff("", a, b, out, max);
        return out;
    }

    private static void diff(String at, JsonNode a, JsonNode b, List<String> out, int max) {
        if (out.size() >= max || a.equals(b)) {
            return;
        }
        if (a.isObject() && b.isObject()) {
            java.util.Set<String> names = new java.util.TreeSet<>();
            a.fieldNames().forEachRemaining(names::add);
            b.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                String child = at + "/" + name.replace("~", "~0").replace("/", "~1");
                if (!a.has(name)) {
                    out.add("added " + child);
                } else if (!b.has(name)) {
                    out.add("removed " + child);
                } else {
                    diff(child, a.get(name), b.get(name), out, max);
                }
                if (out.size() >= max) {
                    return;
                }
            }
            return;
        }
        out.add("changed " + (at.isEmpty() ? "/" : at));
    }
}
