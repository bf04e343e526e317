package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.UUID;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;

/**
 * The {@code Cache-Status} header on the wire: every read names the caches that took part (its
 * spelling for each status is {@code CacheStatusSpellingTest}'s; the protocol behind it is tested in
 * cache-tier).
 */
@QuarkusTest
class CacheStatusHeaderTest extends AuthenticatedTest {

    private String collection;

    /**
     * The near cache answers strict reads only while this instance holds its near-cache lease, which
     * it takes shortly after it starts: read a document of its own until the near cache answers it.
     */
    @BeforeEach
    void awaitNearCacheLease() {
        collection = "status-" + UUID.randomUUID().toString().substring(0, 8);
        given().contentType("application/json")
                .body("{}")
                .put("/v1/{c}/docs/{id}", collection, "lease")
                .then()
                .statusCode(201);
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> "strata-near; hit"
                        .equals(given().get("/v1/{c}/docs/{id}", collection, "lease")
                                .then()
                                .extract()
                                .header("Cache-Status")));
    }

    @Test
    void aMissNamesBothCachesAndTheNextReadIsANearHit() {
        given().contentType("application/json")
                .body("{\"a\":1}")
                .put("/v1/{c}/docs/{id}", collection, "doc")
                .then()
                .statusCode(201);
        String miss = given().get("/v1/{c}/docs/{id}", collection, "doc")
                .then()
                .statusCode(200)
                .extract()
                .header("Cache-Status");
        assertEquals("strata; fwd=miss; stored, strata-near; fwd=miss; stored", miss);
        String hit = given().get("/v1/{c}/docs/{id}", collection, "doc")
                .then()
                .statusCode(200)
                .extract()
                .header("Cache-Status");
        assertEquals("strata-near; hit", hit);
    }

    @Test
    void aNotFoundAnswerCarriesTheHeaderToo() {
        String miss = given().get("/v1/{c}/docs/{id}", collection, "ghost")
                .then()
                .statusCode(404)
                .extract()
                .header("Cache-Status");
        assertEquals("strata; fwd=miss; stored, strata-near; fwd=miss; stored", miss);
        given().get("/v1/{c}/docs/{id}", collection, "ghost")
                .then()
                .statusCode(404)
                .header("Cache-Status", "strata-near; hit");
    }
}
