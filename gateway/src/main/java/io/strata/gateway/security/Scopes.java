package io.strata.gateway.security;

import java.util.List;
import java.util.regex.Pattern;

/**
 * What a key may do. A scope is {@code admin} (manage keys, and read and write every collection), or
 * {@code read:<pattern>} / {@code write:<pattern>} where the pattern is a collection name, a prefix
 * followed by {@code *}, or {@code *} alone (every collection). {@code write} implies {@code read}.
 *
 * <p>A prefix ends at a boundary: its last character is {@code -}, {@code _} or {@code .}, and it
 * matches only collections that continue after it ({@code read:tenant-a-*} covers {@code tenant-a-x},
 * never {@code tenant-ab} nor {@code tenant-a-} itself). {@code read:tenant-a*} is refused: it would
 * look like one tenant and cover every tenant whose name starts the same way. Scopes stored before
 * this rule are ignored if they break it.
 */
public final class Scopes {

    public static final String ADMIN = "admin";
    private static final Pattern SCOPE =
            Pattern.compile("admin|(read|write):([a-z0-9][a-z0-9_.-]{0,62}|[a-z0-9][a-z0-9_.-]{0,61}[-_.]\\*|\\*)");

    private Scopes() {}

    /** Whether {@code scope} is well formed. */
    public static boolean valid(String scope) {
        return scope != null && SCOPE.matcher(scope).matches();
    }

    public static boolean isAdmin(List<String> scopes) {
        return scopes.contains(ADMIN);
    }

    /** Whether {@code scopes} allow reading ({@code write == false}) or writing {@code collection}. */
    public static boolean allows(List<String> scopes, String collection, boolean write) {
        if (collection == null) {
            return false;
        }
        for (String scope : scopes) {
            if (scope.equals(ADMIN)) {
                return true;
            }
            if (!valid(scope) || write && !scope.startsWith("write:")) {
                continue;
            }
            String pattern = scope.substring(scope.indexOf(':') + 1);
            if (pattern.equals("*")) {
                return true;
            }
            if (pattern.endsWith("*")) {
                String prefix = pattern.substring(0, pattern.length() - 1);
                if (collection.length() > prefix.length() && collection.startsWith(prefix)) {
                    return true;
                }
            } else if (collection.equals(pattern)) {
                return true;
            }
        }
        return false;
    }
}
