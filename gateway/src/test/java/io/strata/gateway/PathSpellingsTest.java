package io.strata.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The attack suite's model of a normalising router and of the canonical form. */
class PathSpellingsTest {

    @Test
    void normalisationResolvesWhatARouterResolves() {
        assertEquals(
                "/v1/tenant-b-x/docs/secret",
                PathSpellings.normalise("/v1/tenant-a-x/docs/%2E%2E/%2E%2E/tenant-b-x/docs/secret"));
        assertEquals("/admin/keys", PathSpellings.normalise("/v1/tenant-a-x/docs/%2E%2E/%2E%2E/%2E%2E/admin/keys"));
        assertEquals("/admin/keys", PathSpellings.normalise("/v1/a/docs/../../../../../admin/keys"));
        assertEquals("/admin/keys", PathSpellings.normalise("//admin/keys"));
        assertEquals("/admin/keys", PathSpellings.normalise("/%61dmin/keys"));
        assertEquals("/admin/keys", PathSpellings.normalise("/admin;x/keys"));
        assertEquals("/v1/c/docs", PathSpellings.normalise("/v1/c/docs/%2E"));
        assertEquals("/v1/c/docs", PathSpellings.normalise("/v1/c/docs/"));
        assertEquals("/v1/c/docs/x", PathSpellings.normalise("/v1/c/zz/.%2e/docs/x"));
        assertEquals("/v1/c/docs/x", PathSpellings.normalise("/v1/c/zz/..;x/docs/x"));
        assertEquals("/v1/c/docs/x", PathSpellings.normalise("/%76%31/c/docs/x"));
        // escapes of other characters stay, so they name no route
        assertEquals("/v1/c%2Fdocs/x", PathSpellings.normalise("/v1/c%2fdocs/x"));
        assertEquals("/v1/c/docs/zz/%252E%252E/x", PathSpellings.normalise("/v1/c/docs/zz/%252E%252E/x"));
        assertEquals("/V1/c/docs/x", PathSpellings.normalise("/V1/c/docs/x"));
    }

    @Test
    void onlyOneSpellingIsCanonical() {
        for (String canonical :
                List.of("/", "/v1/c/docs/x", "/v1/c/docs:batchGet", "/v1/c/docs/a%3Ab%40c", "/V1/c/docs/x")) {
            assertTrue(PathSpellings.isCanonical(canonical), canonical);
        }
        for (String other : List.of(
                "//admin/keys",
                "/%61dmin/keys",
                "/admin;x/keys",
                "/v1/c/docs/%2E",
                "/v1/c/docs/",
                "/v1/./c",
                "/v1/c/../c",
                "/v1\\c",
                "/v1%5Cc",
                "/v1%2Fc",
                "/v1/c%00",
                "/v1/%2561",
                "/v1/c/docs/a%3ab")) {
            assertFalse(PathSpellings.isCanonical(other), other);
        }
    }

    @Test
    void everySpellingButTheCaseVariantsIsNonCanonicalAndNormalisesBackOrToNoRoute() {
        String target = "/v1/tenant-a-x/docs/doc1";
        Map<String, List<PathSpellings.Spelling>> spellings =
                PathSpellings.of(target, List.of("/v1/tenant-b-x/docs/", "/admin/keys/"));
        for (List<PathSpellings.Spelling> kind : spellings.values()) {
            assertFalse(kind.isEmpty());
            for (PathSpellings.Spelling spelling : kind) {
                boolean canonical = PathSpellings.isCanonical(spelling.target());
                assertEquals(spelling.kind().equals("case"), canonical, spelling.toString());
                if (List.of(
                                "dot-segment",
                                "dot-dot-segment",
                                "traversal",
                                "empty-segment",
                                "trailing-slash",
                                "matrix",
                                "escape")
                        .contains(spelling.kind())) {
                    assertEquals(target, PathSpellings.normalise(spelling.target()), spelling.toString());
                } else {
                    assertFalse(target.equals(PathSpellings.normalise(spelling.target())), spelling.toString());
                }
            }
        }
        assertTrue(spellings.get("traversal").stream()
                .anyMatch(s -> s.target().equals("/v1/tenant-b-x/docs/%2E%2E/%2E%2E/%2E%2E/v1/tenant-a-x/docs/doc1")));
        assertTrue(spellings.get("escape").stream().anyMatch(s -> s.target().equals("/%76%31/tenant-a-x/docs/doc1")));
        assertTrue(
                spellings.get("escape").stream().anyMatch(s -> s.target().equals("/v1/tenant-a-x/%64%6f%63%73/doc1")));
        assertTrue(
                spellings.get("escape").stream().anyMatch(s -> s.target().equals("/v1/tenant-a-x/%64%6F%63%73/doc1")));
        assertTrue(spellings.get("case").stream().anyMatch(s -> s.target().equals("/V1/tenant-a-x/docs/doc1")));
    }
}
