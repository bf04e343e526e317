package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;

/**
 * Clients that go away while their batchGet or list page is being read give its share of the memory
 * budget back: the budget returns to its capacity, and later large requests are answered, however
 * many clients left mid-request (a share kept for each of them would soon refuse every such request).
 */
@QuarkusTest
class MemoryBudgetReleaseTest extends AuthenticatedTest {

    private static final Pattern AVAILABLE = Pattern.compile("(?m)^strata_memory_budget_available_bytes(?:\\{[^}]*})? ([0-9.eE+]+)");

    @Test
    void requestsAbandonedInFlightReleaseTheirReservation() throws IOException {
        String collection = "budget-" + UUID.randomUUID().toString().substring(0, 8);
        StringBuilder ids = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            given().contentType("application/json").body("{\"n\":" + i + "}").put("/v1/{c}/docs/{id}", collection, "d" + i)
                    .then().statusCode(201);
            ids.append(i == 0 ? "" : ",").append("\"d").append(i).append('"');
        }
        long capacity = ConfigProvider.getConfig().getOptionalValue("strata.api.memory-budget", Long.class).orElse(67108864L);
        awaitAvailable(capacity);

        // each request reserves its bound at once, then reads Redis or storage; its client leaves meanwhile
        String batch = "{\"ids\":[" + ids + "]}";
        int port = ConfigProvider.getConfig().getOptionalValue("quarkus.http.test-port", Integer.class).orElse(8081);
        for (int round = 0; round < 5; round++) {
            List<Socket> clients = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Socket socket = new Socket("localhost", port);
                clients.add(socket);
                String request = i % 2 == 0
                        ? "POST /v1/" + collection + "/docs:batchGet HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + apiKey
                                + "\r\nContent-Type: application/json\r\nContent-Length: " + batch.length() + "\r\n\r\n" + batch
                        : "GET /v1/" + collection + "/docs?limit=100 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + apiKey
                                + "\r\n\r\n";
                OutputStream out = socket.getOutputStream();
                out.write(request.getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
            for (Socket socket : clients) {
                socket.close();
            }
        }

        awaitAvailable(capacity);
        given().urlEncodingEnabled(false).contentType("application/json").body(batch).post("/v1/" + collection + "/docs:batchGet")
                .then().statusCode(200);
        given().get("/v1/{c}/docs?limit=100", collection).then().statusCode(200);
    }

    private static void awaitAvailable(long capacity) {
        Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> assertEquals(capacity, available(), "memory budget available"));
    }

    private static long available() {
        Matcher value = AVAILABLE.matcher(Management.given().get("/q/metrics").asString());
        return value.find() ? (long) Double.parseDouble(value.group(1)) : -1;
    }
}
