package io.strata.gateway;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What the attack suite sent and what it found, counted by caller class, caller, spelling kind and
 * route, with a selection of examples that spreads over classes, kinds and routes (a failing run
 * finds thousands of violations; the first ones alone would all look alike).
 *
 * <p>The checks: {@code bypass}, a 2xx for a spelling whose canonical request is refused (401, 403);
 * {@code non-canonical}, a spelling not in canonical form that is not refused with a 400 problem;
 * {@code equivalence}, an answer other than the canonical request's that is not a 400 problem;
 * {@code management}, a management path answered on the API port with other than 404 or 400;
 * {@code no-route}, a 2xx for a spelling that normalises to no route; {@code canonical}, a canonical
 * request answered other than the contract says.
 */
final class AttackReport {

    static final List<String> CHECKS =
            List.of("bypass", "non-canonical", "equivalence", "management", "no-route", "canonical");

    /** One request whose answer broke at least one check. */
    record Finding(
            List<String> checks,
            String callerClass,
            String caller,
            String route,
            String spellingKind,
            boolean succeeded,
            String detail) {}

    private static final int EXAMPLES = 30;
    private static final List<String> DIMENSIONS = List.of("caller class", "caller", "spelling kind", "route");
    private static final List<String> CLASSES = List.of(
            "none", "malformed", "revoked", "other-tenant", "read-scope", "write-scope", "prefix-scope", "admin");
    private static final List<String> KINDS = List.of(
            "traversal",
            "empty-segment",
            "escape",
            "matrix",
            "dot-dot-segment",
            "dot-segment",
            "trailing-slash",
            "encoded-slash",
            "backslash",
            "nul-and-percent",
            "case",
            "-");

    private final Map<String, Map<String, Integer>> sent = new LinkedHashMap<>();
    private final Map<String, Map<String, Integer>> failed = new LinkedHashMap<>();
    private final Map<String, Map<String, Integer>> bypassed = new LinkedHashMap<>();
    private final Map<String, Integer> byCheck = new TreeMap<>();
    private final List<Finding> findings = new ArrayList<>();
    private final List<String> after = new ArrayList<>();
    private final Set<String> labels = new TreeSet<>();
    private int canonicalRequests;
    private long millis;

    void sent(String callerClass, String caller, String spellingKind, String route) {
        count(sent, callerClass, caller, spellingKind, route);
    }

    void found(Finding finding) {
        findings.add(finding);
        finding.checks().forEach(check -> byCheck.merge(check, 1, Integer::sum));
        count(failed, finding.callerClass(), finding.caller(), finding.spellingKind(), finding.route());
        if (finding.checks().contains("bypass")) {
            count(bypassed, finding.callerClass(), finding.caller(), finding.spellingKind(), finding.route());
        }
    }

    void after(String change) {
        after.add(change);
    }

    /** Spellings that became labels of the HTTP metrics. */
    void labelled(Set<String> spellings) {
        labels.addAll(spellings);
    }

    void timing(int canonicalRequests, long millis) {
        this.canonicalRequests = canonicalRequests;
        this.millis = millis;
    }

    int violations(String check) {
        return byCheck.getOrDefault(check, 0);
    }

    /** A few requests that broke {@code check}: successes first, each of another spelling kind. */
    String examplesOf(String check, int count) {
        Map<String, Finding> byKind = new LinkedHashMap<>();
        findings.stream()
                .filter(f -> f.checks().contains(check))
                .sorted(Comparator.comparing((Finding f) -> !f.succeeded())
                        .thenComparing(f -> indexOf(CLASSES, f.callerClass()))
                        .thenComparing(f -> routeOrder(f.route())))
                .forEach(f -> byKind.putIfAbsent(f.spellingKind(), f));
        return check + ": " + violations(check) + " requests, e.g.\n"
                + byKind.values().stream()
                        .limit(count)
                        .map(f -> "    " + f.callerClass() + " (" + f.caller() + ", " + f.spellingKind() + "): "
                                + f.detail())
                        .collect(Collectors.joining("\n"));
    }

    /** What the corpus changed that it must not have. */
    List<String> changes() {
        return List.copyOf(after);
    }

    List<String> labels() {
        return List.copyOf(labels);
    }

    @Override
    public String toString() {
        int spellings = sent.getOrDefault("caller", Map.of()).values().stream()
                .mapToInt(Integer::intValue)
                .sum();
        StringBuilder out = new StringBuilder();
        out.append(String.format(
                "attack suite: %d spellings and %d canonical requests in %d ms; %d requests broke a check, "
                        + "%d changes found afterwards, %d spellings became metric labels%n",
                spellings, canonicalRequests, millis, findings.size(), after.size(), labels.size()));
        for (String dimension : DIMENSIONS) {
            out.append(String.format("%n  %-50s %8s %10s %10s%n", "by " + dimension, "sent", "violating", "bypassing"));
            sent.getOrDefault(dimension, Map.of())
                    .forEach((name, count) -> out.append(String.format(
                            "  %-50s %8d %10d %10d%n",
                            name,
                            count,
                            failed.getOrDefault(dimension, Map.of()).getOrDefault(name, 0),
                            bypassed.getOrDefault(dimension, Map.of()).getOrDefault(name, 0))));
        }
        out.append(
                        "\n  violating: the answer broke a check; bypassing: a 2xx where the canonical request is refused (401/403)")
                .append("\n  violations by check (one request may break several): ")
                .append(byCheck)
                .append('\n');
        if (!after.isEmpty()) {
            out.append("\n  after the corpus:\n");
            after.forEach(line -> out.append("    ").append(line).append('\n'));
        }
        if (!labels.isEmpty()) {
            out.append("\n  spellings that became uri labels of the HTTP metrics (")
                    .append(labels.size())
                    .append("), e.g. ")
                    .append(labels.stream().limit(8).collect(Collectors.joining("  ")))
                    .append('\n');
        }
        if (!findings.isEmpty()) {
            out.append("\n  examples:\n");
            examples()
                    .forEach(f -> out.append("    ")
                            .append(f.checks())
                            .append(' ')
                            .append(f.callerClass())
                            .append(" (")
                            .append(f.caller())
                            .append(", ")
                            .append(f.spellingKind())
                            .append("): ")
                            .append(f.detail())
                            .append('\n'));
        }
        return out.toString();
    }

    /**
     * Successes where the canonical request is refused first (a few per caller class, each with a new
     * spelling kind and route), then other successes of non-canonical spellings (one per kind), then
     * one of each remaining check, then whatever is left.
     */
    private List<Finding> examples() {
        List<Finding> ordered = findings.stream()
                .sorted(Comparator.comparing((Finding f) -> indexOf(CLASSES, f.callerClass()))
                        .thenComparing(f -> indexOf(KINDS, f.spellingKind()))
                        .thenComparing(f -> routeOrder(f.route()))
                        .thenComparing(Finding::detail))
                .toList();
        List<Finding> chosen = new ArrayList<>();
        Map<String, Set<String>> kindsShown = new LinkedHashMap<>();
        Map<String, Set<String>> routesShown = new LinkedHashMap<>();
        for (Finding f : ordered) {
            Set<String> kinds = kindsShown.computeIfAbsent(f.callerClass(), c -> new HashSet<>());
            Set<String> routes = routesShown.computeIfAbsent(f.callerClass(), c -> new HashSet<>());
            if (f.checks().contains("bypass")
                    && kinds.size() < 3
                    && !kinds.contains(f.spellingKind())
                    && !routes.contains(f.route())) {
                chosen.add(f);
                kinds.add(f.spellingKind());
                routes.add(f.route());
            }
        }
        Set<String> kinds = new HashSet<>();
        for (Finding f : ordered) {
            if (!f.checks().contains("bypass") && f.succeeded() && kinds.add(f.spellingKind())) {
                chosen.add(f);
            }
        }
        Set<String> checks = new HashSet<>();
        chosen.forEach(f -> checks.addAll(f.checks()));
        for (Finding f : ordered) {
            if (!chosen.contains(f) && !checks.containsAll(f.checks())) {
                chosen.add(f);
                checks.addAll(f.checks());
            }
        }
        for (Finding f : ordered) {
            if (!chosen.contains(f)) {
                chosen.add(f);
            }
            if (chosen.size() >= EXAMPLES) {
                break;
            }
        }
        return chosen.subList(0, Math.min(EXAMPLES, chosen.size()));
    }

    /** Key management first, then the other tenant's documents, then the rest: the most telling first. */
    private static int routeOrder(String route) {
        return route.contains("/admin/") ? 0 : route.contains("tenant-b") ? 1 : 2;
    }

    private static int indexOf(List<String> order, String value) {
        int index = order.indexOf(value);
        return index < 0 ? order.size() : index;
    }

    private static void count(Map<String, Map<String, Integer>> counts, String... names) {
        for (int i = 0; i < DIMENSIONS.size(); i++) {
            counts.computeIfAbsent(DIMENSIONS.get(i), d -> new LinkedHashMap<>())
                    .merge(names[i], 1, Integer::sum);
        }
    }
}
