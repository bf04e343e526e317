package io.strata.gateway.rest;

import java.util.regex.Pattern;

/** Which collection names and document ids the API admits. */
final class Names {

    private static final Pattern COLLECTION = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._~:@-]{1,256}");

    private Names() {}

    static String collection(String name) {
        if (name == null || !COLLECTION.matcher(name).matches()) {
            throw Problem.badRequest(
                    "invalid-collection",
                    "a collection name is 1 to 63 characters from [a-z0-9_.-], starting with a letter or digit");
        }
        return name;
    }

    static String id(String id) {
        if (!isValidId(id)) {
            throw Problem.badRequest(
                    "invalid-id", "a document id is 1 to 256 characters from [A-Za-z0-9._~:@-], and not '.' or '..'");
        }
        return id;
    }

    static boolean isValidId(String id) {
        return id != null && ID.matcher(id).matches() && !id.equals(".") && !id.equals("..");
    }
}
