package io.strata.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One catalogue of problem types: the committed document's, which docs/api.md repeats row for row, which
 * its examples follow, and which covers every type the gateway's code can answer with.
 */
class ProblemCatalogueTest {

    private static final Path REPO = Path.of(System.getProperty("strata.repo.dir", ".."));
    /** Types the error mapper derives from the framework's status (405, 406, 415): not literals in the code. */
    private static final Set<String> DERIVED = Set.of("method-not-allowed", "not-acceptable", "unsupported-media-type");
    /** The calls that name a problem type: a Problem, a 400, a batch refusal, a refusal before routing. */
    private static final Pattern CALL =
            Pattern.compile("(new Problem\\(|Problem\\.badRequest\\(|new InvalidBatch\\(|refuse\\()");

    private static final Pattern TYPE_LITERAL = Pattern.compile("\"([a-z]+(?:-[a-z]+)*)\"");

    private static OpenApiDocument committed() throws IOException {
        return OpenApiDocument.read(OpenApiDocument.apiDir().resolve("openapi-v1.json"));
    }

    private static List<String> tableRows(String markdown) {
        return markdown.lines()
                .map(String::strip)
                .filter(l -> l.startsWith("| `urn:strata:problem:"))
                .toList();
    }

    /** The argument list of a call whose opening parenthesis ends at {@code from}, up to its closing one. */
    private static String arguments(String source, int from) {
        int depth = 1;
        boolean quoted = false;
        for (int i = from; i < source.length(); i++) {
            char c = source.charAt(i);
            if (c == '"' && source.charAt(i - 1) != '\\') {
                quoted = !quoted;
            } else if (!quoted && c == '(') {
                depth++;
            } else if (!quoted && c == ')' && --depth == 0) {
                return source.substring(from, i);
            }
        }
        return source.substring(from);
    }

    @Test
    void theDocumentIsOpenApi31AndListsACatalogue() throws IOException {
        OpenApiDocument document = committed();
        assertTrue(
                document.root().path("openapi").asText().startsWith("3.1."),
                document.root().path("openapi").asText());
        assertTrue(
                document.problemCatalogue().size() >= 20,
                document.problemCatalogue().keySet().toString());
    }

    @Test
    void theDocsListTheSameCatalogueAsTheDocument() throws IOException {
        List<String> inDocument = tableRows(
                committed().root().at("/components/schemas/Problem/description").asText());
        List<String> inDocs = tableRows(Files.readString(REPO.resolve("docs/api.md")));
        List<String> onlyInDocument =
                inDocument.stream().filter(row -> !inDocs.contains(row)).toList();
        List<String> onlyInDocs =
                inDocs.stream().filter(row -> !inDocument.contains(row)).toList();
        assertTrue(
                onlyInDocument.isEmpty() && onlyInDocs.isEmpty(),
                "docs/api.md's problem table and the Problem schema's differ:\n"
                        + "  only in the document:\n    " + String.join("\n    ", onlyInDocument)
                        + "\n  only in docs/api.md:\n    "
                        + String.join("\n    ", onlyInDocs));
        assertEquals(inDocument, inDocs, "the same rows, in the same order");
    }

    @Test
    void everyProblemExampleFollowsTheCatalogue() throws IOException {
        OpenApiDocument document = committed();
        Map<String, OpenApiDocument.ProblemType> catalogue = document.problemCatalogue();
        List<String> wrong = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> examples =
                document.root().at("/components/examples").fields();
        while (examples.hasNext()) {
            Map.Entry<String, JsonNode> example = examples.next();
            JsonNode value = example.getValue().path("value");
            String type = value.path("type").asText("");
            if (!type.startsWith("urn:strata:problem:")) {
                continue;
            }
            OpenApiDocument.ProblemType entry = catalogue.get(type.substring("urn:strata:problem:".length()));
            if (entry == null
                    || !value.path("title")
                            .asText()
                            .equals(entry.titles().get(value.path("status").asInt()))) {
                wrong.add(example.getKey() + ": " + value);
            }
        }
        assertTrue(wrong.isEmpty(), "examples that do not follow the catalogue: " + wrong);
    }

    @Test
    void theCatalogueCoversEveryTypeTheGatewayAnswersWith() throws IOException {
        Set<String> inCode = new TreeSet<>();
        Path sources = REPO.resolve("gateway/src/main/java");
        try (Stream<Path> files = Files.walk(sources)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String source = Files.readString(file);
                Matcher call = CALL.matcher(source);
                while (call.find()) {
                    Matcher literal = TYPE_LITERAL.matcher(arguments(source, call.end()));
                    while (literal.find()) {
                        inCode.add(literal.group(1));
                    }
                }
            }
        }
        Set<String> catalogued = committed().problemCatalogue().keySet();
        Set<String> missing = new TreeSet<>(inCode);
        missing.removeAll(catalogued);
        assertTrue(
                missing.isEmpty(),
                "problem types the gateway answers with that the catalogue does not list: " + missing);
        Set<String> stale = new TreeSet<>(catalogued);
        stale.removeAll(inCode);
        stale.removeAll(DERIVED);
        assertTrue(stale.isEmpty(), "catalogued problem types that no code answers with: " + stale);
        assertTrue(inCode.size() >= 20, "the scan found the gateway's problem types: " + inCode);
    }
}
