package io.strata.gateway.json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * JSON merge patch (RFC 7396) applied while streaming the stored document: the document is never held
 * as a tree, only the patch is, so the memory a patch takes is bounded by the patch (itself bounded by
 * the body limit) and by the size of the result, which stops growing at {@code maxBytes}.
 */
final class MergePatch {

    private final JsonFactory factory;
    private final ObjectMapper mapper;

    MergePatch(JsonFactory factory, ObjectMapper mapper) {
        this.factory = factory;
        this.mapper = mapper;
    }

    /** The patched document; {@link TooLarge} when it would exceed {@code maxBytes}. */
    byte[] apply(byte[] target, JsonNode patch, long maxBytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonParser parser = factory.createParser(target);
                JsonGenerator generator = factory.createGenerator(new Bounded(out, maxBytes))) {
            parser.nextToken();
            merge(parser, patch, generator);
        }
        return out.toByteArray();
    }

    /** Writes the merge of the value at the parser's current token with {@code patch}, consuming that value. */
    private void merge(JsonParser target, JsonNode patch, JsonGenerator out) throws IOException {
        if (!patch.isObject()) {
            target.skipChildren();
            mapper.writeTree(out, patch);
            return;
        }
        if (target.currentToken() != JsonToken.START_OBJECT) {
            target.skipChildren();
            writeWithoutNulls(patch, out);
            return;
        }
        out.writeStartObject();
        Set<String> patched = new HashSet<>();
        while (target.nextToken() == JsonToken.FIELD_NAME) {
            String name = target.currentName();
            target.nextToken();
            JsonNode change = patch.get(name);
            if (change == null) {
                out.writeFieldName(name);
                out.copyCurrentStructure(target);
                continue;
            }
            patched.add(name);
            if (change.isNull()) {
                target.skipChildren();
            } else {
                out.writeFieldName(name);
                merge(target, change, out);
            }
        }
        Iterator<Map.Entry<String, JsonNode>> fields = patch.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (!patched.contains(field.getKey()) && !field.getValue().isNull()) {
                out.writeFieldName(field.getKey());
                writeWithoutNulls(field.getValue(), out);
            }
        }
        out.writeEndObject();
    }

    /** A patch merged into nothing: the patch with its null members removed, at every depth. */
    private void writeWithoutNulls(JsonNode patch, JsonGenerator out) throws IOException {
        if (!patch.isObject()) {
            mapper.writeTree(out, patch);
            return;
        }
        out.writeStartObject();
        Iterator<Map.Entry<String, JsonNode>> fields = patch.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (!field.getValue().isNull()) {
                out.writeFieldName(field.getKey());
                writeWithoutNulls(field.getValue(), out);
            }
        }
        out.writeEndObject();
    }

    /** The result would be larger than the body limit. */
    static final class TooLarge extends IOException {
        TooLarge() {
            super("the patched document exceeds the body limit", null);
        }
    }

    /** Counts what is written and stops at the limit, so that an oversized result is never held whole. */
    private static final class Bounded extends OutputStream {
        private final OutputStream out;
        private final long limit;
        private long written;

        Bounded(OutputStream out, long limit) {
            this.out = out;
            this.limit = limit;
        }

        @Override
        public void write(int b) throws IOException {
            grow(1);
            out.write(b);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            grow(length);
            out.write(bytes, offset, length);
        }

        private void grow(long bytes) throws TooLarge {
            written += bytes;
            if (written > limit) {
                throw new TooLarge();
            }
        }
    }
}
