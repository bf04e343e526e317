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
        return resources.stream().filter(r -> kind.equals(r.path("kind").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " in " + MANIFEST));
    }

    private static JsonNode container() {
        JsonNode containers = resource("Deployment").at("/spec/template/spec/containers");
        assertEquals(1, containers.size());
        return containers.get(0);
    }

    @Test
    void deploymentHasTheThreeHealthProbes() {
        JsonNode container = container();
        assertEquals("/q/health/live", container.at("/livenessProbe/httpGet/path").asText());
        assertEquals("/q/health/ready", container.at("/readinessProbe/httpGet/path").asText());
        assertEquals("/q/health/started", container.at("/startupProbe/httpGet/path").asText());
        assertEquals(8080, container.at("/readinessProbe/httpGet/port").asInt());
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
    void serviceExposesHttp() {
        JsonNode service = resource("Service");
        assertEquals(8080, service.at("/spec/ports/0/targetPort").asInt());
        assertEquals("strata", service.at("/spec/selector/app.kubernetes.io~1name").asText());
    }

    @Test
    void noSecretValueInTheManifest() throws IOException {
        String text = Files.readString(MANIFEST).toLowerCase();
        assertFalse(text.contains("password"), "no password in the manifest");
        resources.forEach(r -> assertFalse("Secret".equals(r.path("kind").asText()), "no Secret resource is generated"));
        container().path("env").forEach(env -> assertFalse(env.path("name").asText().contains("PASSWORD")));
    }
}
