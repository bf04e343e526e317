package io.strata.api;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * Whether an answer of the gateway is one the document describes: its status is declared for the
 * operation; the headers Strata defines are declared on that answer (and the required ones present,
 * with values their schemas admit); its body has a declared media type and fits the declared schema;
 * and a problem's type is in the catalogue with that status and title.
 */
final class ExchangeCheck {

    /** The headers the document defines; any of them on an answer must be declared for that answer. */
    static final List<String> DEFINED_HEADERS = List.of(
            "ETag",
            "Location",
            "Cache-Status",
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "WWW-Authenticate");

    private static final String PROBLEM_PREFIX = "urn:strata:problem:";

    private final OpenApiDocument document;
    private final SchemaCheck schemas;
    private final Map<String, OpenApiDocument.ProblemType> catalogue;

    ExchangeCheck(OpenApiDocument document) {
        this.document = document;
        this.schemas = new SchemaCheck(document);
        this.catalogue = document.problemCatalogue();
    }

    List<String> check(Exchanges.Exchange exchange) {
        List<String> problems = new ArrayList<>();
        Optional<OpenApiDocument.Operation> found = document.operation(exchange.method(), exchange.path());
        if (found.isEmpty()) {
            problems.add("no operation in the document for " + exchange.method() + " " + exchange.path());
            return problems;
        }
        JsonNode responses = found.get().node().path("responses");
        JsonNode declared = responses.has(String.valueOf(exchange.status()))
                ? responses.get(String.valueOf(exchange.status()))
                : responses.get("default");
        if (declared == null) {
            problems.add("status " + exchange.status() + " is not declared");
            return problems;
        }
        JsonNode response = document.resolve(declared);
        checkHeaders(exchange, response.path("headers"), problems);
        checkBody(exchange, response.path("content"), problems);
        return problems;
    }

    private void checkHeaders(Exchanges.Exchange exchange, JsonNode declared, List<String> problems) {
        for (String name : DEFINED_HEADERS) {
            String value = exchange.header(name);
            JsonNode header = declaredHeader(declared, name);
            if (value != null && header == null) {
                problems.add("header " + name + " is sent but not declared for " + exchange.status());
            }
        }
        Iterator<Map.Entry<String, JsonNode>> headers = declared.fields();
        while (headers.hasNext()) {
            Map.Entry<String, JsonNode> entry = headers.next();
            JsonNode header = document.resolve(entry.getValue());
            String value = exchange.header(entry.getKey());
            if (value == null) {
                if (header.path("required").asBoolean(false)) {
                    problems.add("required header " + entry.getKey() + " is missing");
                }
                continue;
            }
            JsonNode schema = header.path("schema");
            JsonNode typed =
                    "integer".equals(document.resolve(schema).path("type").asText()) && value.matches("-?[0-9]+")
                            ? IntNode.valueOf(Integer.parseInt(value))
                            : TextNode.valueOf(value);
            schemas.check(typed, schema).forEach(p -> problems.add("header " + entry.getKey() + " " + p));
        }
    }

    private JsonNode declaredHeader(JsonNode declared, String name) {
        Iterator<String> names = declared.fieldNames();
        while (names.hasNext()) {
            String candidate = names.next();
            if (candidate.equalsIgnoreCase(name)) {
                return declared.get(candidate);
            }
        }
        return null;
    }

    private void checkBody(Exchanges.Exchange exchange, JsonNode content, List<String> problems) {
        if (exchange.body().length == 0) {
            if (!content.isMissingNode()
                    && !content.isEmpty()
                    && !exchange.method().equals("HEAD")) {
                problems.add("the document declares a body, the answer has none");
            }
            return;
        }
        String contentType = exchange.header("Content-Type");
        String mediaType =
                contentType == null ? "" : contentType.split(";")[0].trim().toLowerCase(Locale.ROOT);
        JsonNode media = content.get(mediaType);
        if (media == null) {
            problems.add("media type " + mediaType + " is not declared (declared: " + names(content) + ")");
            return;
        }
        JsonNode body;
        try {
            body = OpenApiDocument.JSON.readTree(exchange.body());
        } catch (java.io.IOException e) {
            problems.add("the body is not JSON: " + new String(exchange.body(), StandardCharsets.UTF_8));
            return;
        }
        if (media.has("schema")) {
            schemas.check(body, media.get("schema")).forEach(problems::add);
        }
        if (mediaType.equals("application/problem+json")) {
            checkProblem(exchange, body, problems);
        }
    }

    private void checkProblem(Exchanges.Exchange exchange, JsonNode body, List<String> problems) {
        String type = body.path("type").asText("");
        if (!type.startsWith(PROBLEM_PREFIX)) {
            problems.add("problem type " + type + " is not urn:strata:problem:<name>");
            return;
        }
        OpenApiDocument.ProblemType entry = catalogue.get(type.substring(PROBLEM_PREFIX.length()));
        if (entry == null) {
            problems.add("problem type " + type + " is not in the catalogue");
            return;
        }
        String title = entry.titles().get(exchange.status());
        if (title == null) {
            problems.add("problem type " + type + " is catalogued with "
                    + entry.titles().keySet() + ", answered " + exchange.status());
        } else if (!title.equals(body.path("title").asText())) {
            problems.add("problem type " + type + " is titled \""
                    + body.path("title").asText() + "\", the catalogue says \"" + title + "\"");
        }
        if (body.path("status").asInt() != exchange.status()) {
            problems.add("problem status " + body.path("status") + " differs from the answer's " + exchange.status());
        }
    }

    private static List<String> names(JsonNode node) {
        List<String> out = new ArrayList<>();
        node.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
