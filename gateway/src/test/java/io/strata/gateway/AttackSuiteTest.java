package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.strata.gateway.PathSpellings.Spelling;
import io.strata.gateway.RawHttp.Answer;
import io.strata.gateway.RawHttp.Request;
import io.strata.gateway.security.ApiKeys;
import io.strata.storage.ApiKeyStore;
import io.strata.storage.ApiKeyStore.StoredKey;

/**
 * The edge as an attacker sees it. For every route (documents, list, batchGet, key management, and
 * the management paths, which the API port must never serve) and every class of caller (no key,
 * malformed keys, a revoked key, read and write scopes, the other tenant, a prefix scope, admin), a
 * generated corpus of other spellings of each canonical target is sent over raw sockets: dot
 * segments in every encoding (traversals into the other tenant's documents and into /admin/keys
 * among them), empty and encoded slashes, matrix parameters, escapes of unreserved characters, case,
 * backslashes, trailing slashes. Each spelling must be answered as the request a normalising router
 * makes of it (its canonical form, sent by the same caller), or refused with a 400 problem; a
 * spelling that is not canonical must be refused; and nothing refused canonically may succeed
 * spelled otherwise. Afterwards no document changed, no key was minted by a caller without admin,
 * no key was revoked by one, and no spelling became a label of the HTTP metrics.
 *
 * <p>Requests that would change something if let through are sent by callers whose canonical request
 * is refused (that is the attack); callers entitled to the route send a harmless form of it (a
 * precondition that cannot hold, a key id that does not exist), so that the state every answer depends
 * on stays as it was.
 *
 * <p>Every caller sends every traversal; of the other kinds of spelling each caller sends a share,
 * rotating over the callers so that every spelling of every target is sent by at least one of them.
 * That keeps the corpus to a few thousand requests, sent over a few kept-alive connections.
 */
@QuarkusTest
class AttackSuiteTest {

    private static final int THREADS = 4;
    /** An entity tag no document has: writes carrying it change nothing. */
    private static final String NO_SUCH_VERSION = "\"999999999999\"";

    private static final String NO_SUCH_KEY = "key_000000000000000000";
    /** Kinds every caller sends whole; of the other kinds each caller sends a share, so that each spelling is sent by some caller. */
    private static final Set<String> EVERY_CALLER = Set.of("traversal");

    @Inject
    ApiKeys apiKeys;

    @Inject
    ApiKeyStore store;

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    /** Who sends: a class of caller, its Authorization header ({@code null}: none) and the scopes of a valid key. */
    record Caller(String name, String kind, String authorization, List<String> scopes, String tenant) {}

    /** One form of a route's request: its target, headers and body. */
    record Variant(String name, String target, Map<String, String> headers, byte[] body) {}

    /**
     * A route under attack. {@code guarded} is what an entitled caller sends (it changes nothing);
     * {@code live} is what a refused caller sends (it would change something if let through).
     */
    record Route(
            String name,
            String method,
            String collection,
            String tenant,
            boolean management,
            Variant guarded,
            Variant live) {

        boolean writes() {
            return guarded != live;
        }
    }

    /** One caller's request: a route's form (headers and body) sent to a path. */
    record Key(String caller, String method, Variant variant, String path) {}

    /** One spelling, sent by one caller; {@code kind} is the caller's class towards this route. */
    record Probe(Caller caller, String kind, Route route, Variant variant, Spelling spelling, String normalised) {

        Request request() {
            return AttackSuiteTest.request(caller, route.method(), variant, spelling.target());
        }

        Key canonical() {
            return new Key(caller.name(), route.method(), variant, normalised);
        }
    }

    /** The world the corpus runs against: two tenants' documents, the callers, the routes, and what must not change. */
    record Fixture(
            String suffix,
            String admin,
            Map<String, String> documents,
            Map<String, String> etags,
            String victimId,
            List<Caller> callers,
            List<Route> routes) {}

    @BeforeEach
    void noDefaultKey() {
        RestAssured.requestSpecification = null;
    }

    @Test
    void everySpellingIsAnsweredAsItsCanonicalFormOrRefused() throws Exception {
        Fixture fixture = fixture();
        AttackReport report = new AttackReport();
        Set<String> spelled = new HashSet<>();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        long started = System.nanoTime();
        try (RawHttp http = new RawHttp("localhost", port)) {
            Map<Key, Answer> canonical = new ConcurrentHashMap<>();
            Map<Caller, Map<Route, Variant>> forms = attackForms(http, pool, fixture, canonical, report);
            List<Probe> probes = corpus(fixture, forms);
            probes.forEach(p -> spelled.add(p.spelling().target()));
            sendCanonical(
                    http,
                    pool,
                    fixture.callers(),
                    probes.stream()
                            .map(Probe::canonical)
                            .distinct()
                            .filter(k -> !canonical.containsKey(k))
                            .toList(),
                    canonical);
            Set<String> routeTargets = fixture.routes().stream()
                    .flatMap(r -> Stream.of(r.guarded().target(), r.live().target()))
                    .collect(Collectors.toSet());
            // reads first, so that a write let through cannot change what a later read is compared with
            List<Probe> ordered = probes.stream()
                    .sorted(Comparator.comparing(p -> p.route().writes()))
                    .toList();
            List<Answer> answers =
                    sendAll(http, pool, ordered.stream().map(Probe::request).toList());
            for (int i = 0; i < ordered.size(); i++) {
                Probe probe = ordered.get(i);
                report.sent(
                        probe.kind(),
                        probe.caller().name(),
                        probe.spelling().kind(),
                        probe.route().name());
                judge(probe, answers.get(i), canonical.get(probe.canonical()), routeTargets, report);
            }
            report.timing(canonical.size(), (System.nanoTime() - started) / 1_000_000);
        } finally {
            pool.shutdownNow();
        }
        checkNothingChanged(fixture, report);
        checkNoSpellingIsAMetricLabel(spelled, report);
        System.out.println(report);
        List<Executable> checks = new ArrayList<>();
        for (String check : AttackReport.CHECKS) {
            checks.add(() -> assertEquals(0, report.violations(check), () -> report.examplesOf(check, 5)));
        }
        checks.add(() -> assertEquals(List.of(), report.changes(), "the corpus changed what it must not"));
        checks.add(() -> assertEquals(List.of(), report.labels(), "spellings became uri labels of the HTTP metrics"));
        assertAll(report.toString(), checks);
    }

    private Fixture fixture() {
        String suffix = suffix();
        String a = "tenant-a-" + suffix;
        String b = "tenant-b-" + suffix;
        String admin = key(List.of("admin")).secret();
        Map<String, String> documents = Map.of(
                "/v1/" + a + "/docs/doc1",
                "{\"owner\":\"tenant-a\"}",
                "/v1/" + b + "/docs/secret",
                "{\"secret\":\"only tenant-b may read this\"}");
        Map<String, String> etags = new HashMap<>();
        documents.forEach((path, body) -> etags.put(
                path,
                given().header("Authorization", "Bearer " + admin)
                        .contentType("application/json")
                        .body(body)
                        .put(path)
                        .then()
                        .statusCode(201)
                        .extract()
                        .header("ETag")));
        ApiKeys.Created revoked = key(List.of("admin"));
        store.revoke(revoked.key().id()).await().atMost(Duration.ofSeconds(10));
        String victimId = key(List.of("read:" + a)).key().id();
        List<Caller> callers = List.of(
                new Caller("no key", "none", null, List.of(), null),
                new Caller("Bearer x", "malformed", "Bearer x", List.of(), null),
                new Caller("Basic", "malformed", "Basic dXNlcjpwYXNzd29yZA==", List.of(), null),
                new Caller("unknown sk_", "malformed", "Bearer sk_" + random(32), List.of(), null),
                new Caller("revoked admin", "revoked", "Bearer " + revoked.secret(), List.of(), null),
                caller("read:tenant-a-*", "read-scope", "a", "read:tenant-a-*"),
                caller("write:tenant-a-*", "write-scope", "a", "write:tenant-a-*"),
                caller("read+write:tenant-b-*", "write-scope", "b", "read:tenant-b-*", "write:tenant-b-*"),
                caller("read:tenant-*", "prefix-scope", null, "read:tenant-*"),
                new Caller("admin", "admin", "Bearer " + admin, List.of("admin"), null));
        return new Fixture(suffix, admin, documents, etags, victimId, callers, routes(a, b, suffix, victimId));
    }

    /**
     * Sends every caller's canonical request to every route, checks the answers against the contract,
     * and picks the form each caller attacks a route with: the live one where its canonical request is
     * refused (the live form's canonical answer is asked too), else the harmless one.
     */
    private Map<Caller, Map<Route, Variant>> attackForms(
            RawHttp http, ExecutorService pool, Fixture fixture, Map<Key, Answer> canonical, AttackReport report)
            throws Exception {
        List<Key> guarded = new ArrayList<>();
        fixture.callers()
                .forEach(caller -> fixture.routes().forEach(route -> guarded.add(key(caller, route, route.guarded()))));
        sendCanonical(http, pool, fixture.callers(), guarded, canonical);
        Map<Caller, Map<Route, Variant>> forms = new LinkedHashMap<>();
        List<Key> live = new ArrayList<>();
        for (Caller caller : fixture.callers()) {
            for (Route route : fixture.routes()) {
                int status = canonical.get(key(caller, route, route.guarded())).status();
                Variant form = route.writes() && (status == 401 || status == 403) ? route.live() : route.guarded();
                forms.computeIfAbsent(caller, c -> new LinkedHashMap<>()).put(route, form);
                if (form != route.guarded()) {
                    live.add(key(caller, route, form));
                }
            }
        }
        sendCanonical(http, pool, fixture.callers(), live, canonical);
        for (Caller caller : fixture.callers()) {
            for (Route route : fixture.routes()) {
                Variant form = forms.get(caller).get(route);
                int status = canonical.get(key(caller, route, form)).status();
                if (!expected(caller, route).contains(status)) {
                    report.found(new AttackReport.Finding(
                            List.of("canonical"),
                            kind(caller, route),
                            caller.name(),
                            route.name(),
                            "-",
                            false,
                            route.method() + " " + form.target() + " (" + form.name() + " form) -> " + status
                                    + ", the contract says " + expected(caller, route)));
                }
            }
        }
        return forms;
    }

    /** Each caller's spellings of each route, in the form it attacks the route with. */
    private static List<Probe> corpus(Fixture fixture, Map<Caller, Map<Route, Variant>> forms) {
        List<Probe> probes = new ArrayList<>();
        List<Caller> callers = fixture.callers();
        for (int i = 0; i < callers.size(); i++) {
            Caller caller = callers.get(i);
            for (Route route : fixture.routes()) {
                Variant form = forms.get(caller).get(route);
                Map<String, List<Spelling>> spellings =
                        PathSpellings.of(form.target(), traversalStarts(route, fixture.routes()));
                for (Spelling spelling : share(spellings, i, callers.size())) {
                    probes.add(new Probe(
                            caller,
                            kind(caller, route),
                            route,
                            form,
                            spelling,
                            PathSpellings.normalise(spelling.target())));
                }
            }
        }
        return probes;
    }

    /** The documents are as they were, no key was minted or revoked by a caller without admin, and the management port is alive. */
    private void checkNothingChanged(Fixture fixture, AttackReport report) {
        fixture.documents().forEach((path, body) -> {
            var now = given().header("Authorization", "Bearer " + fixture.admin())
                    .header("Cache-Control", "no-cache")
                    .get(path);
            String etag = fixture.etags().get(path);
            if (now.statusCode() != 200 || !etag.equals(now.header("ETag")) || !body.equals(now.asString())) {
                report.after(path + " changed: now " + now.statusCode() + " ETag " + now.header("ETag") + " (was "
                        + etag + ") " + abbreviate(now.asString()));
            }
        });
        List<StoredKey> keys = store.list().await().atMost(Duration.ofSeconds(10));
        List<StoredKey> minted = keys.stream()
                .filter(k -> k.name().equals(mintedName(fixture.suffix())))
                .toList();
        if (!minted.isEmpty()) {
            report.after(minted.size() + " admin keys minted by callers without the admin scope (named "
                    + mintedName(fixture.suffix()) + ")");
        }
        keys.stream()
                .filter(k -> k.id().equals(fixture.victimId()) && k.revoked())
                .forEach(k -> report.after("key " + k.id() + " was revoked by a caller without the admin scope"));
        for (StoredKey key : minted) {
            store.revoke(key.id()).await().atMost(Duration.ofSeconds(10));
        }
        // the management paths exist, on their own port: their absence on the API port means something
        int live = Management.given().get("/q/health/live").statusCode();
        if (live != 200) {
            report.after("the management port answered /q/health/live with " + live);
        }
    }

    /**
     * Requests answered before a route matched are labelled by a pattern or a fixed name, never by the
     * path they were sent to: a spelling that became a label would let any client grow the metrics
     * without bound.
     */
    private static void checkNoSpellingIsAMetricLabel(Set<String> spelled, AttackReport report) {
        String metrics = Management.given().get("/q/metrics").asString();
        Matcher label = Pattern.compile("uri=\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(metrics);
        Set<String> leaked = new TreeSet<>();
        while (label.find()) {
            String value = label.group(1).replaceAll("\\\\(.)", "$1");
            if (spelled.contains(value)) {
                leaked.add(value);
            }
        }
        report.labelled(leaked);
    }

    /** The routes, each with its harmless and its live form. */
    private List<Route> routes(String a, String b, String suffix, String victimId) {
        List<Route> routes = new ArrayList<>();
        Map<String, String> json = Map.of("Content-Type", "application/json");
        for (String[] tenant : new String[][] {{"a", a, "doc1"}, {"b", b, "secret"}}) {
            String collection = tenant[1];
            String doc = "/v1/" + collection + "/docs/" + tenant[2];
            String label = " /v1/tenant-" + tenant[0] + "/docs";
            Variant read = read(doc);
            routes.add(new Route("GET" + label + "/{id}", "GET", collection, tenant[0], false, read, read));
            routes.add(new Route("HEAD" + label + "/{id}", "HEAD", collection, tenant[0], false, read, read));
            for (String method : List.of("PUT", "PATCH", "DELETE")) {
                Map<String, String> type = switch (method) {
                    case "PUT" -> json;
                    case "PATCH" -> Map.of("Content-Type", "application/merge-patch+json");
                    default -> Map.of();
                };
                byte[] body =
                        method.equals("DELETE") ? null : "{\"attack\":\"spelled\"}".getBytes(StandardCharsets.UTF_8);
                Map<String, String> guarded = new LinkedHashMap<>(type);
                guarded.put("If-Match", NO_SUCH_VERSION);
                routes.add(new Route(
                        method + label + "/{id}",
                        method,
                        collection,
                        tenant[0],
                        false,
                        new Variant("guarded", doc, guarded, body),
                        new Variant("live", doc, type, body)));
            }
            Variant list = read("/v1/" + collection + "/docs");
            routes.add(new Route("GET" + label, "GET", collection, tenant[0], false, list, list));
            Variant batch = new Variant(
                    "read",
                    "/v1/" + collection + "/docs:batchGet",
                    json,
                    "{\"ids\":[\"doc1\",\"secret\"]}".getBytes(StandardCharsets.UTF_8));
            routes.add(new Route("POST" + label + ":batchGet", "POST", collection, tenant[0], false, batch, batch));
        }
        Variant keys = read("/admin/keys");
        routes.add(new Route("GET /admin/keys", "GET", null, null, false, keys, keys));
        routes.add(new Route(
                "POST /admin/keys",
                "POST",
                null,
                null,
                false,
                new Variant(
                        "guarded",
                        "/admin/keys",
                        json,
                        ("{\"name\":\"attack-" + suffix + "-by-admin\",\"scopes\":[\"read:attack-none\"]}")
                                .getBytes(StandardCharsets.UTF_8)),
                new Variant(
                        "live",
                        "/admin/keys",
                        json,
                        ("{\"name\":\"" + mintedName(suffix) + "\",\"scopes\":[\"admin\"]}")
                                .getBytes(StandardCharsets.UTF_8))));
        routes.add(new Route(
                "DELETE /admin/keys/{id}",
                "DELETE",
                null,
                null,
                false,
                new Variant("guarded", "/admin/keys/" + NO_SUCH_KEY, Map.of(), null),
                new Variant("live", "/admin/keys/" + victimId, Map.of(), null)));
        for (String path : List.of(
                "/q/health", "/q/health/live", "/q/health/ready", "/q/metrics", "/q/openapi", "/q/swagger-ui")) {
            Variant management = read(path);
            routes.add(new Route("GET " + path, "GET", null, null, true, management, management));
        }
        return routes;
    }

    /** Where traversals into {@code route} start: the other tenant's documents first, then another part of the API. */
    private static List<String> traversalStarts(Route route, List<Route> routes) {
        String a = docsOf(routes, "a");
        String b = docsOf(routes, "b");
        if ("a".equals(route.tenant())) {
            return List.of(b, "/admin/keys/");
        }
        if ("b".equals(route.tenant())) {
            return List.of(a, "/admin/keys/");
        }
        return route.management() ? List.of(a, "/admin/keys/") : List.of(a, b);
    }

    private static String docsOf(List<Route> routes, String tenant) {
        return routes.stream()
                .filter(r -> tenant.equals(r.tenant()))
                .findFirst()
                .map(r -> "/v1/" + r.collection() + "/docs/")
                .orElseThrow();
    }

    /** What the contract answers to a caller's canonical request (the harmless form for entitled callers). */
    private static Set<Integer> expected(Caller caller, Route route) {
        if (route.management()) {
            return Set.of(404);
        }
        if (caller.scopes().isEmpty()) {
            return Set.of(401);
        }
        if (route.collection() == null) {
            if (!caller.scopes().contains("admin")) {
                return Set.of(403);
            }
            return Set.of(
                    switch (route.method()) {
                        case "GET" -> 200;
                        case "POST" -> 201;
                        default -> 404;
                    });
        }
        if (!allows(caller.scopes(), route.collection(), route.writes())) {
            return Set.of(403);
        }
        return Set.of(route.writes() ? 412 : 200);
    }

    /** The scope rules: admin; read:/write: a collection or a prefix ending in *; write implies read. */
    private static boolean allows(List<String> scopes, String collection, boolean write) {
        for (String scope : scopes) {
            if (scope.equals("admin")) {
                return true;
            }
            String action = scope.substring(0, scope.indexOf(':'));
            String pattern = scope.substring(scope.indexOf(':') + 1);
            boolean matches = pattern.endsWith("*")
                    ? collection.startsWith(pattern.substring(0, pattern.length() - 1))
                    : collection.equals(pattern);
            if (matches && (action.equals("write") || !write)) {
                return true;
            }
        }
        return false;
    }

    /** Records the checks an answer to a spelling breaks, if any. */
    private static void judge(
            Probe probe, Answer answer, Answer canonical, Set<String> routeTargets, AttackReport report) {
        String target = probe.spelling().target();
        boolean refused = answer.status() == 400 && answer.isProblem();
        boolean succeeded = answer.status() >= 200 && answer.status() < 300;
        List<String> checks = new ArrayList<>();
        if ((canonical.status() == 401 || canonical.status() == 403) && succeeded) {
            checks.add("bypass");
        }
        if (!refused && answer.status() != canonical.status()) {
            checks.add("equivalence");
        }
        if (!PathSpellings.isCanonical(target) && !refused) {
            checks.add("non-canonical");
        }
        if (probe.route().management() && answer.status() != 400 && answer.status() != 404) {
            checks.add("management");
        }
        if (!routeTargets.contains(probe.normalised()) && succeeded) {
            checks.add("no-route");
        }
        if (!checks.isEmpty()) {
            String method = probe.route().method();
            report.found(new AttackReport.Finding(
                    checks,
                    probe.kind(),
                    probe.caller().name(),
                    probe.route().name(),
                    probe.spelling().kind(),
                    succeeded,
                    method + " " + target + " -> " + describe(answer) + "; canonical " + method + " "
                            + probe.normalised() + " -> " + canonical.status()));
        }
    }

    private static String describe(Answer answer) {
        if (answer.status() == 0) {
            return "no answer (" + abbreviate(answer.text()) + ")";
        }
        String type =
                answer.contentType().isEmpty() ? "" : " " + answer.contentType().split(";")[0];
        return answer.status() + type + (answer.body().length == 0 ? "" : " " + abbreviate(answer.text()));
    }

    /** The caller's class towards a route: a tenant's key on the other tenant's collection is "other-tenant". */
    private static String kind(Caller caller, Route route) {
        return caller.tenant() != null
                        && route.tenant() != null
                        && !caller.tenant().equals(route.tenant())
                ? "other-tenant"
                : caller.kind();
    }

    /** This caller's share of each kind: all of a kind in {@link #EVERY_CALLER}, else a rotating slice covering the kind across callers. */
    private static List<Spelling> share(Map<String, List<Spelling>> byKind, int caller, int callers) {
        List<Spelling> mine = new ArrayList<>();
        byKind.forEach((kind, spellings) -> {
            if (EVERY_CALLER.contains(kind)) {
                mine.addAll(spellings);
                return;
            }
            int each = (spellings.size() + callers - 1) / callers;
            for (int t = 0; t < each; t++) {
                mine.add(spellings.get((caller * each + t) % spellings.size()));
            }
        });
        return mine.stream().distinct().toList();
    }

    private static Key key(Caller caller, Route route, Variant form) {
        return new Key(caller.name(), route.method(), form, form.target());
    }

    private static void sendCanonical(
            RawHttp http, ExecutorService pool, List<Caller> callers, List<Key> keys, Map<Key, Answer> into)
            throws Exception {
        Map<String, Caller> byName = callers.stream().collect(Collectors.toMap(Caller::name, c -> c));
        List<Answer> answers = sendAll(
                http,
                pool,
                keys.stream()
                        .map(k -> request(byName.get(k.caller()), k.method(), k.variant(), k.path()))
                        .toList());
        for (int i = 0; i < keys.size(); i++) {
            into.put(keys.get(i), answers.get(i));
        }
    }

    private static List<Answer> sendAll(RawHttp http, ExecutorService pool, List<Request> requests) throws Exception {
        List<Future<Answer>> futures = new ArrayList<>(requests.size());
        for (Request request : requests) {
            futures.add(pool.submit(() -> http.send(request)));
        }
        List<Answer> answers = new ArrayList<>(requests.size());
        for (Future<Answer> future : futures) {
            answers.add(future.get());
        }
        return answers;
    }

    static Request request(Caller caller, String method, Variant variant, String target) {
        Map<String, String> headers = new LinkedHashMap<>(variant.headers());
        if (caller.authorization() != null) {
            headers.put("Authorization", caller.authorization());
        }
        return new Request(method, target, headers, variant.body());
    }

    private static Variant read(String target) {
        return new Variant("read", target, Map.of(), null);
    }

    private Caller caller(String name, String kind, String tenant, String... scopes) {
        return new Caller(name, kind, "Bearer " + key(List.of(scopes)).secret(), List.of(scopes), tenant);
    }

    private ApiKeys.Created key(List<String> scopes) {
        return apiKeys.create("attack-suite", scopes, 1_000_000).await().atMost(Duration.ofSeconds(10));
    }

    /** The name of the keys that only requests of callers without the admin scope ask for. */
    private static String mintedName(String suffix) {
        return "attack-" + suffix + "-minted";
    }

    private static String suffix() {
        return random(6).toLowerCase().replaceAll("[^a-z0-9]", "x");
    }

    private static String random(int bytes) {
        byte[] value = new byte[bytes];
        new SecureRandom().nextBytes(value);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(value);
    }

    private static String abbreviate(String text) {
        String line = text.replace('\n', ' ').replace('\r', ' ');
        return line.length() <= 90 ? line : line.substring(0, 90) + "…";
    }
}
