package io.strata.gateway.rest;

import java.util.Map;

import io.strata.gateway.config.ApiConfig;
import io.vertx.core.http.HttpServerRequest;

/**
 * Limits on what a request may carry besides its body: the length of its target, the number and
 * total size of its headers, the number of query parameters. The HTTP codec's own limits
 * ({@code quarkus.http.limits.*}) are set well above these, so that a request over them still gets a
 * problem+json answer from here; only a request over the codec's limits is refused by the codec
 * itself (an empty 414 or 431).
 */
final class RequestLimits {

    private RequestLimits() {}

    /** {@code "<status> <detail>"} when the request is over a limit or its target is not a URI, else {@code null}. */
    static String check(HttpServerRequest request, ApiConfig config) {
        String uri = request.uri();
        if (uri.length() > config.maxUriLength()) {
            return "414 the request target is longer than " + config.maxUriLength() + " bytes";
        }
        if (!validTarget(uri)) {
            return "400 the request target is not a valid URI (RFC 3986): characters outside its set, or a % not followed by two hex digits";
        }
        int count = 0;
        long bytes = 0;
        for (Map.Entry<String, String> header : request.headers()) {
            count++;
            bytes += header.getKey().length() + header.getValue().length() + 4;
        }
        if (count > config.maxHeaderCount()) {
            return "431 more than " + config.maxHeaderCount() + " request headers";
        }
        if (bytes > config.maxHeaderBytes()) {
            return "431 the request headers are larger than " + config.maxHeaderBytes() + " bytes";
        }
        int query = uri.indexOf('?');
        if (query >= 0) {
            int parameters = 1;
            for (int i = query + 1; i < uri.length(); i++) {
                if (uri.charAt(i) == '&') {
                    parameters++;
                }
            }
            if (parameters > config.maxQueryParameters()) {
                return "400 more than " + config.maxQueryParameters() + " query parameters";
            }
        }
        return null;
    }

    /** Only RFC 3986 characters (unreserved, reserved, and % followed by two hex digits). */
    static boolean validTarget(String uri) {
        for (int i = 0; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c == '%') {
                if (i + 2 >= uri.length()
                        || Character.digit(uri.charAt(i + 1), 16) < 0
                        || Character.digit(uri.charAt(i + 2), 16) < 0) {
                    return false;
                }
                i += 2;
            } else if (!(c >= 'a' && c <= 'z'
                    || c >= 'A' && c <= 'Z'
                    || c >= '0' && c <= '9'
                    || "-._~:/?#[]@!$&'()*+,;=".indexOf(c) >= 0)) {
                return false;
            }
        }
        return true;
    }
}
