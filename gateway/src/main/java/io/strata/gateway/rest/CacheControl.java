package io.strata.gateway.rest;

import java.util.Locale;

/** The request {@code Cache-Control} directives Strata honours. */
final class CacheControl {

    private CacheControl() {
    }

    /** {@code no-cache}: do not answer from the cache without going to storage. */
    static boolean noCache(String header) {
        if (header == null) {
            return false;
        }
        for (String directive : header.split(",")) {
            String name = directive.trim().toLowerCase(Locale.ROOT);
            int eq = name.indexOf('=');
            if ((eq < 0 ? name : name.substring(0, eq).trim()).equals("no-cache")) {
                return true;
            }
        }
        return false;
    }
}
