package io.strata.gateway.json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.strata.gateway.config.ApiConfig;
import io.strata.storage.Document;

/**
 * JSON on the request path. Documents are stored and served as the bytes the client sent: they are
 * validated with a streaming parser, never re-serialized. Only a merge patch parses and writes a
 * document, because it has to change it.
 */
@ApplicationScoped
public class JsonBodies {

    private final JsonFactory factory;
    private final ObjectMapper mapper;
    private final MergePatch mergePatch;

    public JsonBodies(ApiConfig config) {
        this.factory = JsonFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(config.maxJsonDepth())
                        .build())
                .build();
        this.mapper = new ObjectMapper(factory);
        this.mergePatch = new MergePatch(factory, mapper);
    }

    /** Throws {@link InvalidJson} unless {@code body} is exactly one well-formed UTF-8 JSON value. */
    public void validate(byte[] body) {
        if (!validUtf8(body)) {
            throw new InvalidJson("the body is not valid UTF-8");
        }
        if (body.length >= 3 && (body[0] & 0xff) == 0xEF && (body[1] & 0xff) == 0xBB && (body[2] & 0xff) == 0xBF) {
            throw new InvalidJson("the body starts with a byte order mark (RFC 8259 §8.1)");
        }
        try (JsonParser parser = factory.createParser(body)) {
            JsonToken token = parser.nextToken();
            if (token == null) {
                throw new InvalidJson("the body is empty");
            }
            // every token, strings included (skipping would not check their escapes and control characters)
            int depth = 0;
            do {
                if (token.isStructStart()) {
                    depth++;
                } else if (token.isStructEnd()) {
                    depth--;
                } else if (token == JsonToken.VALUE_STRING || token == JsonToken.FIELD_NAME) {
                    requireWholeCharacters(parser.getTextCharacters(), parser.getTextOffset(), parser.getTextLength());
                }
            } while (depth > 0 && (token = parser.nextToken()) != null);
            if (parser.nextToken() != null) {
                throw new InvalidJson("unexpected content after the JSON value");
            }
        } catch (InvalidJson e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new InvalidJson(describe(e));
        }
    }

    private static final ThreadLocal<java.nio.charset.CharsetDecoder> UTF8 =
            ThreadLocal.withInitial(() -> java.nio.charset.StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT));

    /** No lone surrogate from a {@code \\uD800}-style escape: strings are Unicode text (RFC 7493 §2.1). */
    private static void requireWholeCharacters(char[] text, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            char c = text[i];
            if (Character.isHighSurrogate(c) && i + 1 < offset + length && Character.isLowSurrogate(text[i + 1])) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new InvalidJson("a string holds an unpaired surrogate escape");
            }
        }
    }

    /** Strict UTF-8 (no overlong forms, no encoded surrogates, nothing above U+10FFFF). */
    private static boolean validUtf8(byte[] body) {
        try {
            UTF8.get().reset().decode(java.nio.ByteBuffer.wrap(body));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    /** Parses a request body into a tree (for small control bodies such as batchGet). */
    public JsonNode parse(byte[] body) {
        validate(body);
        try {
            return mapper.readTree(body);
        } catch (IOException e) {
            throw new InvalidJson(describe(e));
        }
    }

    /**
     * Applies an RFC 7396 JSON merge patch to a stored document and returns the new document's bytes,
     * streaming the document (see {@link MergePatch}); {@link TooLarge} when the result would exceed
     * {@code maxBytes}.
     */
    public byte[] mergePatch(byte[] target, JsonNode patch, long maxBytes) {
        try {
            return mergePatch.apply(target, patch, maxBytes);
        } catch (MergePatch.TooLarge e) {
            throw new TooLarge();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The ids of a batchGet body {@code {"ids":[...]}}, read as a stream: no tree is built, and reading
     * stops as soon as there are more than {@code maxIds}. Other members are ignored.
     */
    public List<String> batchIds(byte[] body, int maxIds) {
        validate(body);
        List<String> ids = null;
        try (JsonParser parser = factory.createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new InvalidBatch("invalid-batch", "the body must be {\"ids\":[...]}");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (!name.equals("ids")) {
                    parser.skipChildren();
                    continue;
                }
                if (value != JsonToken.START_ARRAY) {
                    throw new InvalidBatch("invalid-batch", "the body must be {\"ids\":[...]}");
                }
                ids = new ArrayList<>();
                JsonToken item;
                while ((item = parser.nextToken()) != JsonToken.END_ARRAY) {
                    if (item != JsonToken.VALUE_STRING) {
                        throw new InvalidBatch("invalid-batch", "every id must be a string");
                    }
                    if (ids.size() == maxIds) {
                        throw new InvalidBatch("too-many-ids", "at most " + maxIds + " ids per request");
                    }
                    ids.add(parser.getText());
                }
            }
        } catch (IOException e) {
            throw new InvalidJson(describe(e));
        }
        if (ids == null) {
            throw new InvalidBatch("invalid-batch", "the body must be {\"ids\":[...]}");
        }
        return ids;
    }

    /** {@code [{"id":…,"version":…,"doc":<stored bytes>},…]} without parsing the stored bodies. */
    public static void writeItems(ByteArrayOutputStream out, List<Document> documents) {
        out.write('[');
        boolean first = true;
        for (Document document : documents) {
            if (!first) {
                out.write(',');
            }
            first = false;
            out.writeBytes("{\"id\":".getBytes());
            writeString(out, document.id());
            out.writeBytes((",\"version\":" + document.version() + ",\"doc\":").getBytes());
            out.writeBytes(document.body());
            out.write('}');
        }
        out.write(']');
    }

    public static void writeStrings(ByteArrayOutputStream out, List<String> values) {
        out.write('[');
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            writeString(out, values.get(i));
        }
        out.write(']');
    }

    public static void writeString(ByteArrayOutputStream out, String value) {
        out.write('"');
        out.writeBytes(JsonStringEncoder.getInstance().quoteAsUTF8(value));
        out.write('"');
    }

    private static String describe(Exception e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        int location = message.indexOf("\n at [");
        return "malformed JSON: " + (location > 0 ? message.substring(0, location) : message).replace('\n', ' ');
    }

    /** A merge patch whose result would exceed the body limit. */
    public static final class TooLarge extends RuntimeException {
        TooLarge() {
            super("the patched document exceeds the body limit", null, false, false);
        }
    }

    /** A batchGet body of the wrong shape; {@code type} names the problem. */
    public static final class InvalidBatch extends RuntimeException {
        private final String type;

        InvalidBatch(String type, String message) {
            super(message, null, false, false);
            this.type = type;
        }

        public String type() {
            return type;
        }
    }

    /** The body is not acceptable JSON. */
    public static final class InvalidJson extends RuntimeException {
        public InvalidJson(String message) {
            super(message, null, false, false);
        }
    }
}
