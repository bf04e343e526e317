package io.strata.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.JavaAnnotation;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaParameter;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.ConfigMappingInterface;

/**
 * The configuration reference, {@code docs/configuration.md}, against the code, both ways:
 * <ul>
 * <li>every Strata property the code reads (each {@code @ConfigMapping} interface, found in the
 * bytecode of every module and read through SmallRye Config's own mapping metadata, so names are as
 * mapped, nested groups and maps included; and each {@code @ConfigProperty} injection point) has a
 * row, and the row's default is the code's {@code @WithDefault} (or {@code none});</li>
 * <li>every row names a property the code reads, or one that Strata sets in its properties files,
 * with exactly the value set there;</li>
 * <li>every property those files set has a row, and none of them restates a default that a mapping
 * already holds;</li>
 * <li>the environment variable of a row is the one SmallRye Config reads for that property.</li>
 * </ul>
 * The meaning column is not compared: it is the mapping method's Javadoc, copied by hand.
 */
class ConfigurationReferenceTest {

    private static final Path ROOT = repositoryRoot();
    private static final Path REFERENCE = Path.of("docs/configuration.md");
    /** The properties files Strata ships: the gateway's, and the embedded services' defaults for dev and test. */
    private static final List<Path> PROPERTY_FILES = List.of(
            Path.of("gateway/src/main/resources/application.properties"),
            Path.of("embedded-services/runtime/src/main/resources/META-INF/microprofile-config.properties"));
    /**
     * Properties documented elsewhere, with the reason: the manifests Quarkus generates are
     * {@code docs/deployment.md}'s subject, and the benchmark's endpoints are no part of production.
     */
    private static final Map<String, String> DOCUMENTED_ELSEWHERE = Map.of(
            "quarkus.kubernetes.", "docs/deployment.md (generated manifests)",
            "quarkus.helm.", "docs/deployment.md (generated chart)",
            "quarkus.container-image.", "docs/deployment.md (images)",
            "strata.bench.", "docs/performance.md (benchmark endpoints)");
    /** The mappings the check must find, so that it cannot pass by finding none. */
    private static final Set<String> KNOWN_MAPPINGS = Set.of("io.strata.cache.CacheConfig",
            "io.strata.gateway.config.ApiConfig", "io.strata.gateway.security.AuthConfig",
            "io.strata.storage.pg.StorageConfig", "io.strata.embedded.deployment.EmbeddedServicesConfig");
    private static final String CONFIG_PROPERTY = "org.eclipse.microprofile.config.inject.ConfigProperty";
    private static final String UNCONFIGURED = "org.eclipse.microprofile.config.configproperty.unconfigureddvalue";
    private static final Pattern MAP_KEY = Pattern.compile("\"<[^>]+>\"");

    /** A property the code reads: its default ({@code null}: none) and where it is declared. */
    record Declared(String name, String defaultValue, String where) {
    }

    /** A row of the reference: property, default or value ({@code null}: none), environment variable ({@code null}: —). */
    record Row(String property, String value, String environment, int line) {
    }

    @Test
    void everyPropertyTheCodeReadsHasARowWithItsDefault() throws IOException {
        Map<String, Row> rows = rows();
        Map<String, String> set = propertiesSet();
        List<String> wrong = new ArrayList<>();
        for (Declared property : declared().values()) {
            Row row = rows.get(property.name());
            String effective = set.getOrDefault(property.name(), property.defaultValue());
            if (row == null) {
                wrong.add("no row for " + property.name() + " (default " + shown(effective) + ", " + property.where() + ")");
            } else if (!java.util.Objects.equals(row.value(), effective)) {
                wrong.add("line " + row.line() + ": " + property.name() + " has default " + shown(row.value()) + ", the code's is "
                        + shown(effective) + " (" + property.where() + ")");
            }
        }
        assertTrue(wrong.isEmpty(), REFERENCE + " against the code:\n  " + String.join("\n  ", wrong));
    }

    @Test
    void everyRowNamesAPropertyOfTheCodeOrOneStrataSets() throws IOException {
        Map<String, Declared> declared = declared();
        Map<String, String> set = propertiesSet();
        List<String> wrong = new ArrayList<>();
        for (Row row : rows().values()) {
            if (declared.containsKey(row.property())) {
                continue;
            }
            if (!set.containsKey(row.property())) {
                wrong.add("line " + row.line() + ": " + row.property() + " is neither read by the code nor set in " + PROPERTY_FILES);
            } else if (!set.get(row.property()).equals(row.value())) {
                wrong.add("line " + row.line() + ": " + row.property() + " says " + shown(row.value()) + ", the properties set "
                        + shown(set.get(row.property())));
            }
        }
        assertTrue(wrong.isEmpty(), REFERENCE + " against the code and " + PROPERTY_FILES + ":\n  " + String.join("\n  ", wrong));
    }

    @Test
    void everyPropertyStrataSetsHasARow() throws IOException {
        Map<String, Row> rows = rows();
        List<String> missing = propertiesSet().keySet().stream().filter(name -> !rows.containsKey(name))
                .map(name -> "no row for " + name).toList();
        assertTrue(missing.isEmpty(), REFERENCE + " against " + PROPERTY_FILES + ":\n  " + String.join("\n  ", missing));
    }

    @Test
    void propertiesFilesDoNotRestateTheMappingsDefaults() throws IOException {
        Map<String, Declared> declared = declared();
        List<String> restated = new ArrayList<>();
        for (var property : propertiesSet().entrySet()) {
            Declared code = declared.get(unprofiled(property.getKey()));
            if (code != null && property.getValue().equals(code.defaultValue())) {
                restated.add(property.getKey() + "=" + property.getValue() + " restates the default of " + code.where());
            }
        }
        assertTrue(restated.isEmpty(), String.join("\n", restated));
    }

    @Test
    void environmentVariablesAreTheOnesSmallRyeConfigReads() throws IOException {
        List<String> wrong = new ArrayList<>();
        for (Row row : rows().values()) {
            if (row.environment() != null && !row.environment().equals(environmentVariable(row.property()))) {
                wrong.add("line " + row.line() + ": " + row.property() + " is read from " + environmentVariable(row.property())
                        + ", not " + row.environment());
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    }

    @Test
    void twoDeclarationsOfOnePropertyAgreeOnItsDefault() {
        List<String> disagreements = new ArrayList<>();
        Map<String, Declared> seen = new TreeMap<>();
        for (Declared property : declarations()) {
            Declared before = seen.putIfAbsent(property.name(), property);
            if (before != null && !java.util.Objects.equals(before.defaultValue(), property.defaultValue())) {
                disagreements.add(property.name() + ": " + shown(before.defaultValue()) + " in " + before.where() + ", "
                        + shown(property.defaultValue()) + " in " + property.where());
            }
        }
        assertTrue(disagreements.isEmpty(), String.join("\n", disagreements));
    }

    @Test
    void theCheckSeesEveryKnownMapping() {
        Set<String> found = new TreeSet<>();
        for (JavaClass type : strataClasses()) {
            if (type.isAnnotatedWith(ConfigMapping.class.getName())) {
                found.add(type.getName());
            }
        }
        assertEquals(new TreeSet<>(KNOWN_MAPPINGS), found, "a new mapping: add it to KNOWN_MAPPINGS and its rows to " + REFERENCE);
    }

    /** Every Strata property the code reads, by name (a map's key as {@code *}). */
    private static Map<String, Declared> declared() {
        Map<String, Declared> byName = new TreeMap<>();
        for (Declared property : declarations()) {
            byName.putIfAbsent(property.name(), property);
        }
        return byName;
    }

    private static List<Declared> declarations() {
        List<Declared> all = new ArrayList<>();
        JavaClasses classes = strataClasses();
        for (JavaClass type : classes) {
            if (type.isAnnotatedWith(ConfigMapping.class.getName())) {
                all.addAll(mapped(type.getName()));
            }
            for (JavaCodeUnit unit : type.getCodeUnits()) {
                for (JavaParameter parameter : unit.getParameters()) {
                    parameter.tryGetAnnotationOfType(CONFIG_PROPERTY)
                            .ifPresent(annotation -> injected(annotation, type.getName() + "#" + unit.getName()).ifPresent(all::add));
                }
            }
            for (JavaField field : type.getFields()) {
                field.tryGetAnnotationOfType(CONFIG_PROPERTY)
                        .ifPresent(annotation -> injected(annotation, type.getName() + "#" + field.getName()).ifPresent(all::add));
            }
        }
        return all;
    }

    /** The properties of one mapping, through SmallRye Config's metadata: names as mapped, defaults as declared. */
    private static List<Declared> mapped(String className) {
        Class<?> type;
        try {
            type = Class.forName(className);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
        String prefix = type.getAnnotation(ConfigMapping.class).prefix();
        var properties = ConfigMappingInterface.getProperties(ConfigMappingInterface.getConfigurationInterface(type))
                .get(type).get("");
        List<Declared> all = new ArrayList<>();
        properties.forEach((name, property) -> {
            if (property.isGroup()) {
                return;
            }
            all.add(new Declared(prefix + "." + name, property.hasDefaultValue() ? property.getDefaultValue() : null,
                    property.getMethod().getDeclaringClass().getName().replace('$', '.') + "#" + property.getMethod().getName()));
        });
        return all;
    }

    private static Optional<Declared> injected(JavaAnnotation<?> annotation, String where) {
        String name = (String) annotation.get("name").orElse("");
        if (!name.startsWith("strata.") || documentedElsewhere(name)) {
            return Optional.empty();
        }
        String defaultValue = (String) annotation.get("defaultValue").filter(value -> !UNCONFIGURED.equals(value)).orElse(null);
        return Optional.of(new Declared(name, defaultValue, where));
    }

    private static JavaClasses strataClasses() {
        return new ClassFileImporter().withImportOption(new ImportOption.DoNotIncludeTests()).importPackages("io.strata");
    }

    /** Every property Strata's properties files set (a profile's as {@code %profile.name}), but those documented elsewhere. */
    private static Map<String, String> propertiesSet() throws IOException {
        Map<String, String> set = new TreeMap<>();
        for (Path file : PROPERTY_FILES) {
            Properties properties = new Properties();
            try (Reader reader = Files.newBufferedReader(ROOT.resolve(file), StandardCharsets.UTF_8)) {
                properties.load(reader);
            }
            for (String name : properties.stringPropertyNames()) {
                if (!documentedElsewhere(unprofiled(name))) {
                    set.put(name, properties.getProperty(name));
                }
            }
        }
        return set;
    }

    /** The reference's rows: every table row whose first cell is one property name in backquotes. */
    private static Map<String, Row> rows() throws IOException {
        Map<String, Row> rows = new TreeMap<>();
        List<String> lines = Files.readAllLines(ROOT.resolve(REFERENCE), StandardCharsets.UTF_8);
        boolean inTable = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (!line.startsWith("|")) {
                inTable = false;
                continue;
            }
            List<String> cells = cells(line);
            if (!inTable) {
                inTable = cells.get(0).equals("property");
                continue;
            }
            if (cells.get(0).startsWith("---")) {
                continue;
            }
            assertTrue(cells.size() >= 4, "line " + (i + 1) + ": a property row has four cells: " + line);
            String property = MAP_KEY.matcher(code(cells.get(0), i)).replaceAll("*");
            String value = cells.get(1).equals("none") ? null : code(cells.get(1), i);
            String environment = cells.get(2).equals("—") ? null : code(cells.get(2), i);
            Row before = rows.put(property, new Row(property, value, environment, i + 1));
            assertTrue(before == null, "line " + (i + 1) + ": " + property + " has a row already, line " + (before == null ? 0 : before.line()));
        }
        assertTrue(rows.size() > 20, REFERENCE + " has " + rows.size() + " property rows: is the table format still | property | default | environment variable | meaning |?");
        return rows;
    }

    /** A table row's cells; a | inside backquotes belongs to its cell. */
    private static List<String> cells(String line) {
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 1; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '`') {
                quoted = !quoted;
            }
            if (c == '|' && !quoted) {
                cells.add(cell.toString().strip());
                cell.setLength(0);
            } else {
                cell.append(c);
            }
        }
        return cells;
    }

    private static String code(String cell, int line) {
        assertTrue(cell.length() >= 2 && cell.startsWith("`") && cell.endsWith("`") && cell.indexOf('`', 1) == cell.length() - 1,
                "line " + (line + 1) + ": expected one value in backquotes, or none / —: " + cell);
        return cell.substring(1, cell.length() - 1);
    }

    /** SmallRye Config's environment variable for a property: upper case, every other character than a letter or digit as _. */
    static String environmentVariable(String property) {
        return property.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(java.util.Locale.ROOT);
    }

    private static String unprofiled(String name) {
        return name.startsWith("%") ? name.substring(name.indexOf('.') + 1) : name;
    }

    private static boolean documentedElsewhere(String name) {
        return DOCUMENTED_ELSEWHERE.keySet().stream().anyMatch(name::startsWith);
    }

    private static String shown(String value) {
        return value == null ? "none" : "`" + value + "`";
    }

    private static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !(Files.isDirectory(dir.resolve("docs")) && Files.exists(dir.resolve("mvnw")))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }
}
