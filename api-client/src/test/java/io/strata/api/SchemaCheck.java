package io.strata.api;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Checks a JSON value against a schema of the document, for the keywords Strata's document uses: type
 * (one or a list), required, properties, items, enum, const, pattern, minimum, maximum, minItems,
 * maxItems, minLength, maxLength. A member that an object schema with properties does not declare is
 * reported too: an answer that says more than the document is a disagreement as well.
 */
final class SchemaCheck {

    private final OpenApiDocument document;

    SchemaCheck(OpenApiDocument document) {
        this.document = document;
    }

    List<String> check(JsonNode value, JsonNode schema) {
        List<String> problems = new ArrayList<>();
        check("$", value, schema, problems);
        return problems;
    }

    private void check(String at, JsonNode value, JsonNode schemaOrRef, List<String> problems) {
        JsonNode schema = document.resolve(schemaOrRef);
        if (schema == null || schema.isMissingNode()) {
            return;
        }
        JsonNode type = schema.get("type");
        if (type != null) {
            Set<String> allowed = new HashSet<>();
            if (type.isArray()) {
                type.forEach(t -> allowed.add(t.asText()));
            } else {
                allowed.add(type.asText());
            }
            if (allowed.stream().noneMatch(t -> hasType(value, t))) {
                problems.add(at + ": " + kind(value) + " where the document says " + allowed);
                return;
            }
        }
        if (schema.has("enum") && !contains(schema.get("enum"), value)) {
            problems.add(at + ": " + value + " is not one of " + schema.get("enum"));
        }
        if (schema.has("const") && !schema.get("const").equals(value)) {
            problems.add(at + ": " + value + " is not " + schema.get("const"));
        }
        if (value.isTextual()) {
            String text = value.asText();
            if (schema.has("pattern")
                    && !Pattern.compile(schema.get("pattern").asText())
                            .matcher(text)
                            .find()) {
                problems.add(at + ": \"" + text + "\" does not match "
                        + schema.get("pattern").asText());
            }
            if (schema.has("maxLength")
                    && text.codePointCount(0, text.length())
                            > schema.get("maxLength").asInt()) {
                problems.add(at + ": longer than " + schema.get("maxLength").asInt());
            }
            if (schema.has("minLength")
                    && text.codePointCount(0, text.length())
                            < schema.get("minLength").asInt()) {
                problems.add(at + ": shorter than " + schema.get("minLength").asInt());
            }
        }
        if (value.isNumber()) {
            if (schema.has("minimum")
                    && value.decimalValue().compareTo(schema.get("minimum").decimalValue()) < 0) {
                problems.add(at + ": " + value + " is below " + schema.get("minimum"));
            }
            if (schema.has("maximum")
                    && value.decimalValue().compareTo(schema.get("maximum").decimalValue()) > 0) {
                problems.add(at + ": " + value + " is above " + schema.get("maximum"));
            }
        }
        if (value.isArray()) {
            if (schema.has("maxItems") && value.size() > schema.get("maxItems").asInt()) {
                problems.add(at + ": more than " + schema.get("maxItems").asInt() + " items");
            }
            if (schema.has("minItems") && value.size() < schema.get("minItems").asInt()) {
                problems.add(at + ": fewer than " + schema.get("minItems").asInt() + " items");
            }
            if (schema.has("items")) {
                for (int i = 0; i < value.size(); i++) {
                    check(at + "[" + i + "]", value.get(i), schema.get("items"), problems);
                }
            }
        }
        if (value.isObject()) {
            if (schema.has("required")) {
                for (JsonNode name : schema.get("required")) {
                    if (!value.has(name.asText())) {
                        problems.add(at + ": required member " + name.asText() + " is missing");
                    }
                }
            }
            JsonNode properties = schema.get("properties");
            if (properties != null) {
                Iterator<Map.Entry<String, JsonNode>> members = value.fields();
                while (members.hasNext()) {
                    Map.Entry<String, JsonNode> member = members.next();
                    JsonNode property = properties.get(member.getKey());
                    if (property == null) {
                        problems.add(at + ": member " + member.getKey() + " is not in the document");
                    } else {
                        check(at + "." + member.getKey(), member.getValue(), property, problems);
                    }
                }
            }
        }
    }

    private static boolean hasType(JsonNode value, String type) {
        return switch (type) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            case "null" -> value.isNull();
            default -> false;
        };
    }

    private static String kind(JsonNode value) {
        return value.getNodeType().name().toLowerCase();
    }

    private static boolean contains(JsonNode values, JsonNode value) {
        for (JsonNode candidate : values) {
            if (candidate.equals(value)) {
                return true;
            }
        }
        return false;
    }
}
