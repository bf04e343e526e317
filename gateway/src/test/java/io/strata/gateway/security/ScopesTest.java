package io.strata.gateway.security;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Scopes mean what they look like: prefixes end at a boundary, and a write scope reads too. */
class ScopesTest {

    @Test
    void aPrefixMustEndAtABoundary() {
        for (String valid :
                List.of("admin", "read:orders", "write:tenant-a-*", "read:tenant_a_*", "read:eu.*", "read:*")) {
            assertTrue(Scopes.valid(valid), valid);
        }
        for (String invalid : List.of(
                "read:tenant-a*",
                "write:t*",
                "read:-*",
                "read:tenant-a-**",
                "read:*x",
                "root",
                "read:",
                "delete:orders",
                "read:Orders")) {
            assertFalse(Scopes.valid(invalid), invalid);
        }
    }

    @Test
    void aPrefixCoversOnlyCollectionsThatContinueAfterIt() {
        List<String> scopes = List.of("read:tenant-a-*");
        assertTrue(Scopes.allows(scopes, "tenant-a-x", false));
        assertFalse(Scopes.allows(scopes, "tenant-a-", false), "the prefix alone is not a collection of the tenant");
        assertFalse(Scopes.allows(scopes, "tenant-ab", false));
        assertFalse(Scopes.allows(scopes, "tenant-a-x", true), "read does not write");
        assertTrue(Scopes.allows(List.of("write:tenant-a-*"), "tenant-a-x", false), "write reads");
    }

    @Test
    void aStoredScopeThatBreaksTheRulesGrantsNothing() {
        // created before prefixes had to end at a boundary
        assertFalse(Scopes.allows(List.of("read:tenant-a*"), "tenant-ab", false));
        assertFalse(Scopes.allows(List.of("read:tenant-a*"), "tenant-a-x", false));
    }
}
