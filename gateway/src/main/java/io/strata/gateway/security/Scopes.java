package io.strata.gateway.security;

import java.util.List;
import java.util.regex.Pattern;

/**
 * What a key may do. A scope is {@code admin} (manage keys, and read and write every collection),
 * or {@code read:<pattern>} / {@code write:<pattern>} where the pattern is a collection name or a
 * prefix ending in {@code *} ({@code read:tenant-a-*}). {@code write} implies {@code read}.
 */
public final class Scopes {

    public static final String ADMIN = "admin";
    private static final Pattern SCOPE = Pattern.compile("admin|(read|write):[a-z0-9][a-z0-9_.-]{0,62}\\*?|(read|write):\\*");

    private Scopes() {
    }

    /** Whether {@code scope} is well formed. */
    public static boolean valid(String scope) {
        return scope != null && SCOPE.matcher(scope).matches();
    }

    /** Whether {@code scopes} allow reading ({@code write == false}) or writing {@code collection}. */
    public static boolean allows(List<String> scopes, String collection, boolean write) {
        for (String scope : scopes) {
            if (scope.equals(ADMIN)) {
                return true;
            }
            int colon = scope.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String action = scope.substring(0, colon);
            if (write && !action.equals("write")) {
                continue;
            }
            String pattern = scope.substring(colon + 1);
            if (pattern.endsWith("*") ? collection.startsWith(pattern.substring(0, pattern.length() - 1))
                    : collection.equals(pattern)) {
                return true;
            }
        }
        return false;
    }
}
