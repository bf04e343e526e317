package io.strata.gateway.rest;

import java.time.Duration;
import java.util.Locale;

import io.strata.cache.ReadOptions;

/** The request {@code Cache-Control} directives Strata honours (RFC 9111, RFC 5861). */
final class CacheControl {

    private CacheControl() {
    }

    /**
     * {@code no-cache}: answer nothing from the cache without going to storage (and accept no stale
     * copy when storage fails); {@code stale-if-error=N}: accept an entry up to N seconds past its
     * freshness when storage fails.
     */
    static ReadOptions readOptions(String header) {
        if (header == null) {
            return ReadOptions.DEFAULT;
        }
        boolean noCache = false;
        Duration staleIfError = null;
        for (String directive : header.split(",")) {
            String token = directive.trim().toLowerCase(Locale.ROOT);
            int eq = token.indexOf('=');
            String name = eq < 0 ? token : token.substring(0, eq).trim();
            String value = eq < 0 ? null : token.substring(eq + 1).trim().replace("\"", "");
            if (name.equals("no-cache")) {
                noCache = true;
            } else if (name.equals("stale-if-error") && value != null) {
                try {
                    staleIfError = Duration.ofSeconds(Math.max(0, Long.parseLong(value)));
                } catch (NumberFormatException e) {
                    // an unparseable directive is ignored (RFC 9111 §5.2)
                }
            }
        }
        return noCache ? new ReadOptions(true, Duration.ZERO) : staleIfError == null ? ReadOptions.DEFAULT
                : new ReadOptions(false, staleIfError);
    }
}
