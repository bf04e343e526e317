package io.strata.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.strata.gateway.security.ApiKeys;

/**
 * HTTPS on the gateway (for deployments not behind a TLS ingress), with a self-signed certificate
 * generated for the test: the API answers over TLS, and plain HTTP is not served.
 */
@QuarkusTest
@TestProfile(TlsTest.Https.class)
class TlsTest {

    /** The gateway with its own certificate and no plain HTTP. */
    public static class Https implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(Certificate.class));
        }
    }

    /** A self-signed certificate for localhost in a PKCS#12 key store, made with the JDK's keytool. */
    public static class Certificate implements QuarkusTestResourceLifecycleManager {
        static Path store;
        static String password;

        @Override
        public Map<String, String> start() {
            try {
                Path dir = Files.createTempDirectory("strata-tls");
                store = dir.resolve("gateway.p12");
                byte[] secret = new byte[16];
                new SecureRandom().nextBytes(secret);
                password = HexFormat.of().formatHex(secret);
                Process keytool = new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "keytool")
                                        .toString(),
                                "-genkeypair",
                                "-alias",
                                "gateway",
                                "-keyalg",
                                "EC",
                                "-groupname",
                                "secp256r1",
                                "-validity",
                                "2",
                                "-dname",
                                "CN=localhost",
                                "-ext",
                                "SAN=dns:localhost,ip:127.0.0.1",
                                "-keystore",
                                store.toString(),
                                "-storetype",
                                "PKCS12",
                                "-storepass",
                                password,
                                "-keypass",
                                password)
                        .inheritIO()
                        .start();
                if (!keytool.waitFor(60, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
                    throw new IllegalStateException("keytool failed");
                }
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return Map.of(
                    "quarkus.tls.https.key-store.p12.path",
                    store.toString(),
                    "quarkus.tls.https.key-store.p12.password",
                    password,
                    "quarkus.http.tls-configuration-name",
                    "https",
                    "quarkus.http.insecure-requests",
                    "disabled");
        }

        @Override
        public void stop() {}
    }

    @Inject
    ApiKeys keys;

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @ConfigProperty(name = "quarkus.http.test-port")
    int httpPort;

    private static HttpClient trusting(boolean theGatewaysCertificate) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Certificate.store)) {
            trusted.load(in, Certificate.password.toCharArray());
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(theGatewaysCertificate ? trusted : null);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, factory.getTrustManagers(), null);
        return HttpClient.newBuilder()
                .sslContext(tls)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    @Test
    void theApiAnswersOverTlsAndPlainHttpIsNotServed() throws Exception {
        String key = TestKeys.create(keys, "admin");
        HttpClient client = trusting(true);
        URI doc = URI.create("https://localhost:" + httpsPort + "/v1/tls/docs/d1");
        HttpResponse<String> put = client.send(
                HttpRequest.newBuilder(doc)
                        .header("Authorization", "Bearer " + key)
                        .header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofString("{\"over\":\"tls\"}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(put.statusCode() == 201 || put.statusCode() == 200, "PUT over TLS: " + put.statusCode());
        HttpResponse<String> get = client.send(
                HttpRequest.newBuilder(doc)
                        .header("Authorization", "Bearer " + key)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, get.statusCode());
        assertEquals("{\"over\":\"tls\"}", get.body());
        assertEquals("TLSv1.3", get.sslSession().orElseThrow().getProtocol());
        // a client that does not trust the certificate does not get through
        assertThrows(
                SSLHandshakeException.class,
                () -> trusting(false)
                        .send(HttpRequest.newBuilder(doc).build(), HttpResponse.BodyHandlers.discarding()));
        // plain HTTP is not served
        assertThrows(
                IOException.class,
                () -> HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(URI.create("http://localhost:" + httpPort + "/v1/tls/docs/d1"))
                                        .timeout(Duration.ofSeconds(5))
                                        .build(),
                                HttpResponse.BodyHandlers.discarding()));
    }
}
