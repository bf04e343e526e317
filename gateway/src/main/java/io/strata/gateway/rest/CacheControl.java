package io.strata.gateway.rest;

import java.time.Duration;
import java.util.Locale;

import io.strata.cache.ReadOptions;

/** The request {@code Cache-Control} directives Strata honours (RFC 9111, RFC 5861). */
final class CacheControl {

    private CacheControl() {}

    /**
     * {@code no-cache}: answer nothing from the cache without going to storage (and accept no stale
     * copy when storage fails); {@code stale-if-error=N}: accept an entry up to N seconds past its
     * freshness when storage fails; {@code max-stale=N}: accept an answer that may lag the latest
     * acknowledged write by up to N seconds ({@code max-stale} without a value: as much as the near
     * cache allows; {@code max-stale=0}: strict, even where the collection's default is not).
     */
    static ReadOptions readOptions(String header) {
        if (header == null) {
            return ReadOptions.DEFAULT;
        }
        boolean noCache = false;
        Duration staleIfError = null;
        Duration maxStale = null;
        for (String directive : header.split(",")) {
            String token = directive.trim().toLowerCase(Locale.ROOT);
            int eq = token.indexOf('=');
            String name = eq < 0 ? token : token.substring(0, eq).trim();
            String value = eq < 0 ? null : token.substring(eq + 1).trim().replace("\"", "");
            if (name.equals("no-cache")) {
                noCache = true;
            } else if (name.equals("stale-if-error") && value != null) {
                staleIfError = seconds(value, staleIfError);
            } else if (name.equals("max-stale")) {
                maxStale = value == null ? UNBOUNDED : seconds(value, maxStale);
            }
        }
        return noCache
                ? new ReadOptions(true, Duration.ZERO, Duration.ZERO)
                : new ReadOptions(false, staleIfError, maxStale);
    }

    /** {@code max-stale} without a value: any staleness the near cache's own bound allows. */
    private static final Duration UNBOUNDED = Duration.ofDays(1);

    /** A delta-seconds value (RFC 9111 §1.2.2); an unparseable one is ignored (RFC 9111 §5.2). */
    private static Duration seconds(String value, Duration otherwise) {
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(value)));
        } catch (NumberFormatException e) {
            return value.matches("[0-9]+") ? UNBOUNDED : otherwise;
        }
    }
}
