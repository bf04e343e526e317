package io.strata.storage;

import java.util.Set;

/**
 * HTTP conditional-request preconditions for a write (RFC 9110 §13), evaluated by storage against
 * the current version inside the write's transaction, never against a cache.
 *
 * @param ifMatch          versions listed in {@code If-Match}; {@code null} when the header is absent
 * @param ifMatchAny       {@code If-Match: *}
 * @param ifNoneMatch      versions listed in {@code If-None-Match}; {@code null} when absent
 * @param ifNoneMatchAny   {@code If-None-Match: *}
 */
public record Precondition(Set<Long> ifMatch, boolean ifMatchAny, Set<Long> ifNoneMatch, boolean ifNoneMatchAny) {

    public static final Precondition NONE = new Precondition(null, false, null, false);

    /** Only this version: a compare-and-set. */
    public static Precondition ifMatch(long version) {
        return new Precondition(Set.of(version), false, null, false);
    }

    /** Whether the write names the version it replaces ({@code If-Match} with versions). */
    public boolean namesVersions() {
        return ifMatch != null;
    }

    /**
     * @param currentVersion the live document's version, or {@code null} when it does not exist
     * @return whether the write may proceed
     */
    public boolean allows(Long currentVersion) {
        boolean exists = currentVersion != null;
        if (ifMatchAny && !exists) {
            return false;
        }
        if (ifMatch != null && (!exists || !ifMatch.contains(currentVersion))) {
            return false;
        }
        if (ifNoneMatchAny && exists) {
            return false;
        }
        return ifNoneMatch == null || !exists || !ifNoneMatch.contains(currentVersion);
    }
}
