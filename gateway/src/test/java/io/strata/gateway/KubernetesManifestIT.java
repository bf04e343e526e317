package io.strata.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;

/** The Kubernetes manifests that every build generates (target/kubernetes/kubernetes.yml). */
class KubernetesManifestIT {

    private static final Path MANIFEST = Path.of("target", "kubernetes", "kubernetes.yml");
    private static final List<JsonNode> resources = new ArrayList<>();

    @BeforeAll
    static void load() throws IOException {
        assertTrue(Files.exists(MANIFEST), "the build generated " + MANIFEST);
        ObjectMapper mapper = new ObjectMapper(new YAMLFactory());
        try (YAMLParser parser = new YAMLFactory().createParser(MANIFEST.toFile())) {
            mapper.readValues(parser, JsonNode.class).forEachRemaining(node -> {
                if (node != null && !node.isNull()) {
                    resources.add(node);
                }
            });
        }
    }

    private static JsonNode resource(String kind) {
        return resources.stream()
                .filter(r -> kind.equals(r.path("kind").asText()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " in " + MANIFEST));
    }

    private static JsonNode container() {
        JsonNode containers = resource("Deployment").at("/spec/template/spec/containers");
        assertEquals(1, containers.size());
        return containers.get(0);
    }

    @Test
    void deploymentHasTheThreeHealthProbesOnTheManagementPort() {
        JsonNode container = container();
        assertEquals(
                "/q/health/live", container.at("/livenessProbe/httpGet/path").asText());
        assertEquals(
                "/q/health/ready", container.at("/readinessProbe/httpGet/path").asText());
        assertEquals(
                "/q/health/started", container.at("/startupProbe/httpGet/path").asText());
        for (String probe : new String[] {"livenessProbe", "readinessProbe", "startupProbe"}) {
            assertEquals(9000, container.at("/" + probe + "/httpGet/port").asInt(), probe);
        }
    }

    @Test
    void environmentComesFromAConfigMapAndASecret() {
        JsonNode envFrom = container().get("envFrom");
        assertNotNull(envFrom, "envFrom is present");
        List<String> sources = new ArrayList<>();
        envFrom.forEach(source -> {
            if (source.has("configMapRef")) {
                sources.add("configmap:" + source.at("/configMapRef/name").asText());
            }
            if (source.has("secretRef")) {
                sources.add("secret:" + source.at("/secretRef/name").asText());
            }
        });
        assertEquals(List.of("configmap:strata-config", "secret:strata-secrets"), sources);
    }

    @Test
    void serviceExposesOnlyTheApiPort() throws IOException {
        JsonNode ports = resource("Service").at("/spec/ports");
        assertEquals(1, ports.size(), "the API Service carries one port: " + ports);
        assertEquals("http", ports.get(0).path("name").asText());
        assertEquals(
                Integer.parseInt(properties().getProperty("quarkus.http.port")),
                ports.get(0).path("targetPort").asInt());
        assertEquals(
                "strata",
                resource("Service").at("/spec/selector/app.kubernetes.io~1name").asText());
    }

    @Test
    void noSecretValueInTheManifest() throws IOException {
        String text = Files.readString(MANIFEST).toLowerCase();
        assertFalse(text.contains("password"), "no password in the manifest");
        resources.forEach(
                r -> assertFalse("Secret".equals(r.path("kind").asText()), "no Secret resource is generated"));
        container()
                .path("env")
                .forEach(env -> assertFalse(env.path("name").asText().contains("PASSWORD")));
    }

    @Test
    void resourcesAreRequestedAndLimitedAsForA512MiBContainer() {
        JsonNode resources = container().get("resources");
        assertEquals("512Mi", resources.at("/requests/memory").asText());
        assertEquals("512Mi", resources.at("/limits/memory").asText());
        assertFalse(resources.at("/requests/cpu").asText().isEmpty());
        assertFalse(resources.at("/limits/cpu").asText().isEmpty());
        assertTrue(
                container().path("env").toString().contains("MaxRAMPercentage=50"),
                "heap sized from the container limit");
    }

    @Test
    void rollingUpdatesNeverTakeAPodAwayFirst() {
        JsonNode strategy = resource("Deployment").at("/spec/strategy");
        assertEquals("RollingUpdate", strategy.path("type").asText());
        assertEquals("0", strategy.at("/rollingUpdate/maxUnavailable").asText());
    }

    @Test
    void shutdownIsGracefulWithinTheTerminationGracePeriod() throws IOException {
        JsonNode pod = resource("Deployment").at("/spec/template/spec");
        int grace = pod.path("terminationGracePeriodSeconds").asInt();
        int preStop = container().at("/lifecycle/preStop/sleep/seconds").asInt();
        java.util.Properties properties = new java.util.Properties();
        try (var in = Files.newInputStream(Path.of("src", "main", "resources", "application.properties"))) {
            properties.load(in);
        }
        int shutdown = Integer.parseInt(
                properties.getProperty("quarkus.shutdown.timeout").replace("s", ""));
        assertTrue(preStop > 0, "endpoints drop the pod before it stops taking requests");
        assertTrue(
                grace > preStop + shutdown,
                "grace " + grace + " s covers preStop " + preStop + " s + shutdown " + shutdown + " s");
    }

    @Test
    void podsSpreadAcrossNodesAndZones() {
        List<String> keys = new ArrayList<>();
        resource("Deployment")
                .at("/spec/template/spec/topologySpreadConstraints")
                .forEach(c -> keys.add(c.path("topologyKey").asText()));
        assertEquals(List.of("kubernetes.io/hostname", "topology.kubernetes.io/zone"), keys);
    }

    @Test
    void podSecurityIsRestricted() {
        JsonNode pod = resource("Deployment").at("/spec/template/spec");
        assertTrue(pod.at("/securityContext/runAsNonRoot").asBoolean());
        assertTrue(pod.at("/securityContext/runAsUser").asInt() > 0);
        JsonNode security = container().get("securityContext");
        assertTrue(security.path("readOnlyRootFilesystem").asBoolean());
        assertFalse(security.path("allowPrivilegeEscalation").asBoolean(true));
        assertEquals("[\"ALL\"]", security.at("/capabilities/drop").toString());
        assertEquals("RuntimeDefault", security.at("/seccompProfile/type").asText());
        // a writable /tmp in memory, since the root filesystem is read-only
        assertEquals("/tmp", container().at("/volumeMounts/0/mountPath").asText());
    }

    @Test
    void ownServiceAccountWithoutAnApiToken() {
        JsonNode pod = resource("Deployment").at("/spec/template/spec");
        assertEquals("strata", pod.path("serviceAccountName").asText());
        assertFalse(pod.path("automountServiceAccountToken").asBoolean(true));
        assertFalse(
                resource("ServiceAccount").path("automountServiceAccountToken").asBoolean(true));
        resources.forEach(r -> assertFalse(
                r.path("kind").asText().matches("Role|ClusterRole|RoleBinding|ClusterRoleBinding"),
                "Strata needs no RBAC: " + r.path("kind").asText()));
    }

    @Test
    void prometheusScrapesTheManagementPortOfEachPod() throws IOException {
        assertTrue(
                resources.stream()
                        .noneMatch(r -> "ServiceMonitor".equals(r.path("kind").asText())),
                "nothing scrapes through the API Service");
        JsonNode monitor = resource("PodMonitor");
        JsonNode endpoints = monitor.at("/spec/podMetricsEndpoints");
        assertEquals(1, endpoints.size());
        assertEquals("/q/metrics", endpoints.get(0).path("path").asText());
        assertEquals("management", endpoints.get(0).path("port").asText());
        assertEquals(
                "strata",
                monitor.at("/spec/selector/matchLabels/app.kubernetes.io~1name").asText());
        assertFalse(
                monitor.at("/metadata/labels/release").asText().isEmpty(), "a label the operator's selector matches");
        int management = Integer.parseInt(properties().getProperty("quarkus.management.port"));
        List<String> named = new ArrayList<>();
        container()
                .path("ports")
                .forEach(p -> named.add(
                        p.path("name").asText() + "=" + p.path("containerPort").asInt()));
        assertTrue(named.contains("management=" + management), "the container names its management port: " + named);
    }

    private static java.util.Properties properties() throws IOException {
        java.util.Properties properties = new java.util.Properties();
        try (var in = Files.newInputStream(Path.of("src", "main", "resources", "application.properties"))) {
            properties.load(in);
        }
        return properties;
    }
}
