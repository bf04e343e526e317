package io.strata.gateway;

import org.eclipse.microprofile.config.ConfigProvider;

import io.restassured.specification.RequestSpecification;

/** Requests to the management interface (health, metrics, OpenAPI), which has its own port. */
final class Management {

    private Management() {}

    static int port() {
        return ConfigProvider.getConfig()
                .getOptionalValue("quarkus.management.test-port", Integer.class)
                .orElse(9001);
    }

    static RequestSpecification given() {
        return io.restassured.RestAssured.given().port(port());
    }
}
