package io.strata.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The direction of dependencies between Strata's modules, checked on the main classes of every
 * module: storage at the bottom knows nothing above it, its port is plain Java, the cache tier sees
 * the port and no HTTP, the gateway sees the port and the cache tier's public package, and no module
 * reaches into another's internals. Each rule names the packages it protects, so that a violation
 * reads as the dependency that broke it.
 */
@AnalyzeClasses(packages = "io.strata", importOptions = ImportOption.DoNotIncludeTests.class)
class ModuleBoundariesTest {

    /** The storage port: {@code io.strata.storage} and anything under it but the PostgreSQL adapter. */
    private static final DescribedPredicate<JavaClass> STORAGE_PORT = resideInAPackage("io.strata.storage..")
            .and(not(resideInAPackage("io.strata.storage.pg..")))
            .as("are in the storage port (io.strata.storage.. but not io.strata.storage.pg..)");

    /** The cache tier's own packages below its public one (e.g. its Redis, protocol or near-cache parts). */
    private static final DescribedPredicate<JavaClass> CACHE_INTERNALS = resideInAPackage("io.strata.cache..")
            .and(not(resideInAPackage("io.strata.cache")))
            .as("are in the cache tier's internal packages (below io.strata.cache)");

    @ArchTest
    static final ArchRule storageKnowsNothingAboveIt = noClasses()
            .that()
            .resideInAPackage("io.strata.storage..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("io.strata.cache..", "io.strata.gateway..")
            .because("storage is the source of truth at the bottom: it knows nothing of caching or HTTP");

    @ArchTest
    static final ArchRule thePortIsPlainJava = noClasses()
            .that(STORAGE_PORT)
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                    "io.vertx..", "io.quarkus..", "jakarta.enterprise..", "jakarta.inject..", "io.strata.storage.pg..")
            .because("the port is what the tiers above depend on: values and Mutiny, no client, container or adapter");

    @ArchTest
    static final ArchRule theCacheTierSpeaksNoHttp = noClasses()
            .that()
            .resideInAPackage("io.strata.cache..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                    "jakarta.ws.rs..",
                    "io.vertx.ext.web..",
                    "io.vertx.core.http..",
                    "io.quarkus.vertx.http..",
                    "org.jboss.resteasy..")
            .because("HTTP stays in the gateway: the cache tier answers typed values and the gateway spells them");

    @ArchTest
    static final ArchRule theCacheTierSeesStorageThroughThePort = noClasses()
            .that()
            .resideInAPackage("io.strata.cache..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("io.strata.gateway..", "io.strata.storage.pg..")
            .because("the cache tier sits below the gateway and above the storage port, not its adapter");

    @ArchTest
    static final ArchRule theGatewaySeesStorageThroughThePort = noClasses()
            .that()
            .resideInAPackage("io.strata.gateway..")
            .should()
            .dependOnClassesThat()
            .resideInAPackage("io.strata.storage.pg..")
            .because("the PostgreSQL adapter's beans are wired behind the port at run time");

    @ArchTest
    static final ArchRule theCacheTiersApiIsItsTopPackage = noClasses()
            .that()
            .resideOutsideOfPackage("io.strata.cache..")
            .should()
            .dependOnClassesThat(CACHE_INTERNALS)
            .because("the cache tier's public API is the package io.strata.cache itself");

    @ArchTest
    static final ArchRule modulesDependOnlyDownward = layeredArchitecture()
            .consideringOnlyDependenciesInLayers()
            .layer("gateway")
            .definedBy("io.strata.gateway..")
            .layer("cache tier")
            .definedBy("io.strata.cache..")
            .layer("storage port")
            .definedBy(STORAGE_PORT.as("io.strata.storage.. but not io.strata.storage.pg.."))
            .layer("storage adapter")
            .definedBy("io.strata.storage.pg..")
            .layer("embedded services")
            .definedBy("io.strata.embedded..")
            .layer("test support")
            .definedBy("io.strata.testing..")
            .whereLayer("gateway")
            .mayNotBeAccessedByAnyLayer()
            .whereLayer("cache tier")
            .mayOnlyBeAccessedByLayers("gateway")
            .whereLayer("storage adapter")
            .mayNotBeAccessedByAnyLayer()
            .whereLayer("storage port")
            .mayOnlyBeAccessedByLayers("storage adapter", "cache tier", "gateway")
            // dev and test tooling: no application code may need it
            .whereLayer("embedded services")
            .mayNotBeAccessedByAnyLayer()
            .whereLayer("test support")
            .mayNotBeAccessedByAnyLayer()
            .because("each module reaches another only through the edges of the module graph");
}
