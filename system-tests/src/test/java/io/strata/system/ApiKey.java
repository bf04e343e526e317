package io.strata.system;

import java.net.URI;
import java.net.http.HttpRequest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;

/**
 * The system tests' credentials: a pepper and an admin key generated for this run, given to every
 * gateway as its bootstrap admin key, and sent with every request.
 */
final class ApiKey {

    static final String SECRET = "sk_" + random(32);
    private static final String PEPPER = random(32);

    private ApiKey() {}

    /** A request to {@code uri} carrying the key. */
    static HttpRequest.Builder request(URI uri) {
        return HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + SECRET);
    }

    /** What a gateway needs to know the key (and no per-key limit: the tests measure the cache, not the quota). */
    static void configure(Map<String, String> env) {
        configureCredentials(env);
        env.put("STRATA_AUTH_DEFAULT_RATE_LIMIT", "0");
    }

    /** What a gateway needs to know the key, every other authentication setting at its production default. */
    static void configureCredentials(Map<String, String> env) {
        env.put("STRATA_AUTH_PEPPER", PEPPER);
        env.put("STRATA_AUTH_BOOTSTRAP_ADMIN_KEY", SECRET);
    }

    private static String random(int bytes) {
        byte[] value = new byte[bytes];
        new SecureRandom().nextBytes(value);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(value);
    }
}
