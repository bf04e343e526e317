package io.strata.gateway;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;

import io.strata.gateway.security.ApiKeys;

/** A test whose requests all carry a new admin key (RestAssured's, and {@link #apiKey} for other clients). */
abstract class AuthenticatedTest {

    @Inject
    ApiKeys apiKeys;

    /** The secret of this test's admin key, sent with every RestAssured request. */
    String apiKey;

    @BeforeEach
    void authenticate() {
        apiKey = TestKeys.authenticateAsAdmin(apiKeys);
    }
}
