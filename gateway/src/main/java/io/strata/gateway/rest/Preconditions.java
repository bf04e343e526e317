package io.strata.gateway.rest;

import java.util.HashSet;
import java.util.Set;

import io.strata.storage.Precondition;

/**
 * Parses {@code If-Match} and {@code If-None-Match} (RFC 9110 §13.1). Strata's entity tags are
 * strong and numeric, {@code "42"}. {@code If-Match} compares strongly, so a weak tag never matches
 * it; {@code If-None-Match} compares weakly. A tag that is not one of ours simply never matches.
 */
final class Preconditions {

    private Preconditions() {}

    static Precondition of(String ifMatch, String ifNoneMatch) {
        if (ifMatch == null && ifNoneMatch == null) {
            return Precondition.NONE;
        }
        boolean matchAny = isAny(ifMatch);
        boolean noneMatchAny = isAny(ifNoneMatch);
        return new Precondition(
                ifMatch == null || matchAny ? null : tags(ifMatch, false),
                matchAny,
                ifNoneMatch == null || noneMatchAny ? null : tags(ifNoneMatch, true),
                noneMatchAny);
    }

    /** Whether an {@code If-None-Match} header matches {@code version} (a GET answers 304 then). */
    static boolean noneMatchHits(String ifNoneMatch, long version) {
        return ifNoneMatch != null
                && (isAny(ifNoneMatch) || tags(ifNoneMatch, true).contains(version));
    }

    private static boolean isAny(String header) {
        return header != null && header.trim().equals("*");
    }

    private static Set<Long> tags(String header, boolean weakAllowed) {
        Set<Long> versions = new HashSet<>();
        for (String raw : header.split(",")) {
            String tag = raw.trim();
            if (tag.startsWith("W/")) {
                if (!weakAllowed) {
                    continue;
                }
                tag = tag.substring(2);
            }
            if (tag.length() < 3 || tag.length() > 21 || tag.charAt(0) != '"' || tag.charAt(tag.length() - 1) != '"') {
                continue;
            }
            String digits = tag.substring(1, tag.length() - 1);
            // tags compare as strings: "007" is not "7" (Strata's tags are canonical decimals)
            boolean canonical = digits.equals("0") || !digits.isEmpty() && digits.charAt(0) != '0';
            if (canonical && digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
                try {
                    versions.add(Long.parseLong(digits));
                } catch (NumberFormatException e) {
                    // larger than any version: never matches
                }
            }
        }
        return versions;
    }
}
