package io.strata.gateway;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Other spellings of a request path, the normalisation a router applies to them, and the canonical
 * form the gateway admits. A normalising router (RFC 3986 §6.2.2: escapes of unreserved characters
 * decoded, {@code ;parameters} stripped, empty segments collapsed, dot segments removed) maps each
 * spelling to a target; the gateway must decide a spelling as that target, or refuse it.
 */
final class PathSpellings {

    /** One spelling of a path; {@code kind} names the trick it uses. */
    record Spelling(String kind, String target) {}

    static final List<String> DOTS = List.of(".", "%2e", "%2E");
    static final List<String> DOT_DOTS = List.of("..", "%2e%2e", "%2E%2E", ".%2E", "%2E.", ".%2e", "%2e.");
    /** Segments that are fixed words of a route (their case matters), as opposed to names. */
    private static final Set<String> LITERALS = Set.of(
            "v1",
            "docs",
            "docs:batchGet",
            "admin",
            "keys",
            "q",
            "health",
            "live",
            "ready",
            "metrics",
            "openapi",
            "swagger-ui");

    private static final String UNRESERVED = "-._~";

    private PathSpellings() {}

    /**
     * Spellings of {@code target}, by kind. {@code fromPrefixes} are paths (ending in {@code /}) that a
     * traversal starts from and climbs out of; the first gets every encoding of {@code ..}.
     */
    static Map<String, List<Spelling>> of(String target, List<String> fromPrefixes) {
        List<String> segments = List.of(target.substring(1).split("/"));
        int n = segments.size();
        Map<String, Set<String>> kinds = new LinkedHashMap<>();

        for (int i = 0; i < n; i++) {
            add(kinds, "dot-segment", insert(segments, i, "."));
        }
        for (String dot : DOTS) {
            add(kinds, "dot-segment", insert(segments, n - 1, dot));
            add(kinds, "dot-segment", target + "/" + dot);
        }
        for (int k = 0; k < DOT_DOTS.size(); k++) {
            add(kinds, "dot-dot-segment", insert(segments, k % n, "zz", DOT_DOTS.get(k)));
        }
        add(kinds, "dot-dot-segment", insert(segments, n - 1, "zz", "..;x"));

        for (int p = 0; p < fromPrefixes.size(); p++) {
            String prefix = fromPrefixes.get(p);
            int depth = prefix.substring(1).split("/").length;
            List<String> encodings = p == 0 ? DOT_DOTS : List.of("..", "%2E%2E");
            for (String dotDot : encodings) {
                add(kinds, "traversal", prefix + (dotDot + "/").repeat(depth) + target.substring(1));
            }
            // climbing above the root is ignored by the normalisation
            add(kinds, "traversal", prefix + "../".repeat(depth + 1) + target.substring(1));
        }

        for (int i = 0; i < n; i++) {
            add(kinds, "empty-segment", join(segments, i, "//"));
        }
        add(kinds, "empty-segment", "//" + target);
        add(kinds, "trailing-slash", target + "/");
        add(kinds, "trailing-slash", target + "//");
        for (int i = 1; i < n; i++) {
            add(kinds, "encoded-slash", join(segments, i, i % 2 == 1 ? "%2F" : "%2f"));
        }
        add(kinds, "encoded-slash", "/%2F" + target.substring(1));

        for (int i = 0; i < n; i++) {
            add(kinds, "matrix", replace(segments, i, segments.get(i) + ";x"));
        }
        add(kinds, "matrix", replace(segments, n - 1, segments.get(n - 1) + ";a=b;c"));
        add(kinds, "matrix", replace(segments, 0, segments.get(0) + ";"));

        for (int i = 0; i < n; i++) {
            String segment = segments.get(i);
            add(kinds, "escape", replace(segments, i, escapeFirst(segment)));
            add(kinds, "escape", replace(segments, i, escapeAll(segment, false)));
            add(kinds, "escape", replace(segments, i, escapeAll(segment, true)));
        }

        for (int i = 0; i < n; i++) {
            String segment = segments.get(i);
            if (LITERALS.contains(segment)) {
                add(
                        kinds,
                        "case",
                        replace(segments, i, Character.toUpperCase(segment.charAt(0)) + segment.substring(1)));
                add(kinds, "case", replace(segments, i, segment.toUpperCase(Locale.ROOT)));
            }
        }

        add(kinds, "backslash", join(segments, n - 1, "\\"));
        add(kinds, "backslash", join(segments, Math.min(1, n - 1), "%5C"));
        add(kinds, "backslash", join(segments, n - 1, "%5c"));
        add(kinds, "nul-and-percent", replace(segments, n - 1, segments.get(n - 1) + "%00"));
        add(kinds, "nul-and-percent", insert(segments, n - 1, "zz", "%252E%252E"));
        add(
                kinds,
                "nul-and-percent",
                replace(
                        segments,
                        0,
                        "%25" + hex(segments.get(0).charAt(0), true).substring(1)
                                + segments.get(0).substring(1)));

        Map<String, List<Spelling>> result = new LinkedHashMap<>();
        kinds.forEach((kind, targets) -> {
            targets.remove(target);
            result.put(kind, targets.stream().map(t -> new Spelling(kind, t)).toList());
        });
        return result;
    }

    /**
     * The target a normalising router dispatches {@code path} to: escapes of unreserved characters
     * decoded (other escapes kept, in upper case), {@code ;parameters} stripped from each segment,
     * empty segments dropped (which collapses {@code //} and ignores a trailing slash, as route
     * matching does), then dot segments removed (RFC 3986 §5.2.4, climbing above the root ignored).
     */
    static String normalise(String path) {
        List<String> out = new ArrayList<>();
        String[] raw = path.split("/", -1);
        for (int i = 1; i < raw.length; i++) {
            String segment = decodeUnreserved(raw[i]);
            int semicolon = segment.indexOf(';');
            if (semicolon >= 0) {
                segment = segment.substring(0, semicolon);
            }
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (segment.equals("..")) {
                if (!out.isEmpty()) {
                    out.removeLast();
                }
                continue;
            }
            out.add(segment);
        }
        return "/" + String.join("/", out);
    }

    /**
     * Whether {@code path} is in the one form the gateway admits: no dot segments, no empty segments
     * (nor a trailing slash other than the root), no matrix parameters, no backslashes, and no escape
     * other than {@code %3A} and {@code %40}.
     */
    static boolean isCanonical(String path) {
        if (!path.startsWith("/") || path.indexOf(';') >= 0 || path.indexOf('\\') >= 0) {
            return false;
        }
        for (int i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
            String escape = path.substring(i, Math.min(path.length(), i + 3));
            if (!escape.equals("%3A") && !escape.equals("%40")) {
                return false;
            }
        }
        if (path.equals("/")) {
            return true;
        }
        for (String segment : path.substring(1).split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private static String decodeUnreserved(String segment) {
        StringBuilder out = new StringBuilder(segment.length());
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c == '%'
                    && i + 2 < segment.length()
                    && Character.digit(segment.charAt(i + 1), 16) >= 0
                    && Character.digit(segment.charAt(i + 2), 16) >= 0) {
                int value = Integer.parseInt(segment.substring(i + 1, i + 3), 16);
                if (isUnreserved((char) value)) {
                    out.append((char) value);
                } else {
                    out.append(segment.substring(i, i + 3).toUpperCase(Locale.ROOT));
                }
                i += 2;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isUnreserved(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || UNRESERVED.indexOf(c) >= 0;
    }

    private static String escapeFirst(String segment) {
        return hex(segment.charAt(0), true) + segment.substring(1);
    }

    private static String escapeAll(String segment, boolean upper) {
        StringBuilder out = new StringBuilder();
        for (char c : segment.toCharArray()) {
            out.append(isUnreserved(c) ? hex(c, upper) : String.valueOf(c));
        }
        return out.toString();
    }

    private static String hex(char c, boolean upper) {
        String hex = String.format("%%%02X", (int) c);
        return upper ? hex : hex.toLowerCase(Locale.ROOT);
    }

    private static void add(Map<String, Set<String>> kinds, String kind, String spelling) {
        kinds.computeIfAbsent(kind, k -> new LinkedHashSet<>()).add(spelling);
    }

    /** The path with {@code extra} segments placed before segment {@code at}. */
    private static String insert(List<String> segments, int at, String... extra) {
        List<String> out = new ArrayList<>(segments);
        out.addAll(at, List.of(extra));
        return "/" + String.join("/", out);
    }

    private static String replace(List<String> segments, int at, String segment) {
        List<String> out = new ArrayList<>(segments);
        out.set(at, segment);
        return "/" + String.join("/", out);
    }

    /** The path with the separator before segment {@code at} spelled {@code separator}. */
    private static String join(List<String> segments, int at, String separator) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < segments.size(); i++) {
            out.append(i == at ? separator : "/").append(segments.get(i));
        }
        return out.toString();
    }
}
