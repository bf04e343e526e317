package io.strata.gateway.rest;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** List cursors: the last id of the page, base64url-encoded so that clients treat it as opaque. */
final class Cursor {
    private Cursor() {
    }

    static String encode(String lastId) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(lastId.getBytes(StandardCharsets.UTF_8));
    }

    static String decode(String cursor) {
        try {
            String id = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            if (Names.isValidId(id)) {
                return id;
            }
        } catch (IllegalArgumentException e) {
            // answered below
        }
        throw Problem.badRequest("invalid-cursor", "after must be a cursor from a previous page");
    }
}
