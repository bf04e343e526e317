package io.strata.gateway;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import javax.sql.DataSource;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;

/**
 * Rollback safety: the previous release's SQL ({@code compat/previous-release.sql}) runs on the schema
 * this release migrated to, and the two releases read each other's writes, so that {@code helm
 * rollback} or a blue-green switch back never meets a schema the old release cannot use.
 */
@QuarkusTest
class PreviousReleaseCompatibilityTest extends AuthenticatedTest {

    @Inject
    DataSource dataSource;

    private static List<String> statements(String collection) throws Exception {
        String script;
        try (var in = PreviousReleaseCompatibilityTest.class.getResourceAsStream("/compat/previous-release.sql")) {
            script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<String> statements = new ArrayList<>();
        for (String line : script.split("\n")) {
            if (!line.isBlank() && !line.startsWith("--")) {
                statements.add(line.replace(":c", "'" + collection + "'").replaceAll(";\\s*$", ""));
            }
        }
        return statements;
    }

    @Test
    void thePreviousReleasesStatementsRunOnThisSchemaAndBothReleasesReadEachOthersWrites() throws Exception {
        String c = "compat-" + UUID.randomUUID().toString().substring(0, 8);
        // this release writes first; the previous release's statements must see it
        given().contentType("application/json")
                .body("{\"written\":\"by this release\"}")
                .put("/v1/{c}/docs/{id}", c, "new-a")
                .then()
                .statusCode(201);
        List<String> statements = statements(c);
        assertTrue(statements.size() >= 6, "the previous release's statements are there");
        int rowsSeen = 0;
        try (Connection connection = dataSource.getConnection();
                Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                if (statement.execute(sql)) {
                    try (ResultSet rows = statement.getResultSet()) {
                        while (rows.next()) {
                            rowsSeen++;
                        }
                    }
                }
            }
        }
        assertEquals(1 + 1 + 3 + 3, rowsSeen, "reads by id, lock, many ids and a page saw both releases' documents");
        // and this release reads what the previous one wrote, including its deletion
        given().get("/v1/{c}/docs/{id}", c, "old-a")
                .then()
                .statusCode(200)
                .body(equalTo("{\"written\":\"by the previous release\"}"));
        given().header("Cache-Control", "no-cache")
                .get("/v1/{c}/docs/{id}", c, "old-b")
                .then()
                .statusCode(404);
    }
}
