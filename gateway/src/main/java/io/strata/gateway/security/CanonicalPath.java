package io.strata.gateway.security;

/**
 * The one spelling of each request path that Strata serves. The router resolves dot segments,
 * collapses empty segments, decodes escapes of unreserved characters and strips matrix parameters
 * before it matches a route, so several spellings could reach one resource, and a check that read any
 * of them as written could be walked around. Strata refuses every spelling but the canonical one
 * before routing: then the path as written and the path as dispatched are the same string.
 *
 * <p>Canonical means: segments are non-empty (no {@code //}, no trailing {@code /} but the root's),
 * none is {@code .} or {@code ..}, there are no matrix parameters ({@code ;}) and no backslashes, and the
 * only percent-escapes are {@code %3A} and {@code %40} ({@code :} and {@code @}, which document ids may
 * hold and which some clients escape). No collection, id or route of the API needs any other escape.
 */
public final class CanonicalPath {

    private CanonicalPath() {}

    /** Why {@code rawPath} (the path of the request target as sent) is not canonical, or {@code null} if it is. */
    public static String violation(String rawPath) {
        if (rawPath == null || rawPath.isEmpty() || rawPath.charAt(0) != '/') {
            return "the path must start with '/'";
        }
        if (rawPath.length() == 1) {
            return null;
        }
        int segmentStart = 1;
        for (int i = 1; i <= rawPath.length(); i++) {
            char c = i < rawPath.length() ? rawPath.charAt(i) : '/';
            if (c == '/') {
                String segment = rawPath.substring(segmentStart, i);
                if (segment.isEmpty()) {
                    return "empty path segments ('//' or a trailing '/') are not accepted";
                }
                if (segment.equals(".") || segment.equals("..")) {
                    return "dot segments ('.' and '..') are not accepted";
                }
                segmentStart = i + 1;
            } else if (c == ';') {
                return "matrix parameters (';') are not accepted";
            } else if (c == '\\') {
                return "backslashes are not accepted";
            } else if (c == '%') {
                String escape = i + 3 <= rawPath.length()
                        ? rawPath.substring(i, i + 3).toUpperCase(java.util.Locale.ROOT)
                        : rawPath.substring(i);
                if (!escape.equals("%3A") && !escape.equals("%40")) {
                    return "percent-escapes other than %3A and %40 are not accepted (write unreserved characters as they are)";
                }
                i += 2;
            }
        }
        return null;
    }
}
