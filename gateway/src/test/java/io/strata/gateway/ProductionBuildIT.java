package io.strata.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The packaged production application (target/quarkus-app) holds none of the benchmark's reference
 * endpoints: they are compiled in only by the bench build ({@code -Pbench}, into target/bench). Route
 * templates are string constants of the classes that declare and register routes, so a bench route in
 * any of Strata's own jars or in the classes Quarkus generated would show as its template's bytes.
 */
class ProductionBuildIT {

    private static final Path APP = Path.of("target", "quarkus-app");
    private static final byte[] BENCH_ROUTE = "/bench:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DOCUMENT_ROUTE = "docs/{id}".getBytes(StandardCharsets.US_ASCII);

    @Test
    void noBenchRouteOrClassInTheProductionBuild() throws IOException {
        List<Path> jars = strataJars();
        List<String> benchHits = new ArrayList<>();
        List<String> documentRouteHolders = new ArrayList<>();
        for (Path jar : jars) {
            try (JarFile file = new JarFile(jar.toFile())) {
                for (Enumeration<JarEntry> entries = file.entries(); entries.hasMoreElements();) {
                    JarEntry entry = entries.nextElement();
                    if (entry.isDirectory()) {
                        continue;
                    }
                    String name = entry.getName();
                    if (name.startsWith("io/strata/") && name.contains("/bench/")) {
                        benchHits.add(jar.getFileName() + "!" + name);
                    }
                    byte[] bytes;
                    try (InputStream in = file.getInputStream(entry)) {
                        bytes = in.readAllBytes();
                    }
                    if (contains(bytes, BENCH_ROUTE)) {
                        benchHits.add(jar.getFileName() + "!" + name + " mentions /bench:");
                    }
                    if (name.endsWith(".class") && contains(bytes, DOCUMENT_ROUTE)) {
                        documentRouteHolders.add(jar.getFileName() + "!" + name);
                    }
                }
            }
        }
        // the scan reads what declares routes: the document routes are found by the same means
        assertTrue(documentRouteHolders.stream().anyMatch(holder -> holder.endsWith("io/strata/gateway/rest/DocumentResource.class")),
                "the scan found the document API's route template in " + jars);
        assertEquals(List.of(), benchHits, "bench classes or routes in the production build");
    }

    /** The gateway's jar, Strata's module jars and the classes Quarkus generated for this application. */
    private static List<Path> strataJars() throws IOException {
        assertTrue(Files.isDirectory(APP), "the build packaged " + APP);
        List<Path> jars = new ArrayList<>();
        for (Path dir : List.of(APP.resolve("app"), APP.resolve("quarkus"), APP.resolve("lib").resolve("main"))) {
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(file -> file.toString().endsWith(".jar"))
                        .filter(file -> !dir.endsWith("main") || file.getFileName().toString().startsWith("io.strata."))
                        .forEach(jars::add);
            }
        }
        assertTrue(jars.stream().anyMatch(jar -> jar.getFileName().toString().startsWith("gateway-")), "the gateway's jar is among " + jars);
        assertTrue(jars.stream().anyMatch(jar -> jar.getFileName().toString().startsWith("io.strata.cache-tier")),
                "the cache tier's jar is among " + jars);
        return jars;
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer: for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
