package io.strata.gateway;

import java.time.Duration;
import java.util.List;

import io.restassured.RestAssured;
import io.restassured.builder.RequestSpecBuilder;
import io.strata.gateway.security.ApiKeys;

/** API keys for tests: created through the same service as the admin API, with a limit tests never reach. */
final class TestKeys {

    private TestKeys() {}

    /** A new key with {@code scopes}; answers its secret. */
    static String create(ApiKeys keys, String... scopes) {
        return keys.create("test", List.of(scopes), 1_000_000)
                .await()
                .atMost(Duration.ofSeconds(10))
                .secret();
    }

    /** Every RestAssured request of the calling test sends a new admin key. Answers the secret. */
    static String authenticateAsAdmin(ApiKeys keys) {
        String secret = create(keys, "admin");
        RestAssured.requestSpecification = new RequestSpecBuilder()
                .addHeader("Authorization", "Bearer " + secret)
                .build();
        return secret;
    }
}
