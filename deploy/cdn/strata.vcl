vcl 4.1;
# Example CDN configuration (Varnish, the same rules carry over to a CDN's cache behaviours): only the
# public, static documents are cached at the edge; the API never is. Written, compiled in CI
# (varnishd -C), not run against a deployment: the gateway does not serve a public, cacheable copy of
# its OpenAPI document and docs pages yet (they are on the management interface, which is never
# exposed); see docs/deployment.md.
#   /openapi, /docs/*  cached for a day, revalidated with the gateway's ETag (If-None-Match -> 304)
#   everything else    passed through untouched: /v1 and /admin carry API keys and per-key answers

backend gateway {
    .host = "strata.strata.svc";
    .port = "80";
}

sub vcl_recv {
    if (req.url ~ "^/(openapi(\.json|\.yaml)?|docs/.*)$" && (req.method == "GET" || req.method == "HEAD")) {
        # static documents are the same for everybody: never key them on credentials or cookies
        unset req.http.Authorization;
        unset req.http.Cookie;
        return (hash);
    }
    return (pass);
}

sub vcl_backend_response {
    if (bereq.url ~ "^/(openapi(\.json|\.yaml)?|docs/.*)$" && beresp.status == 200) {
        set beresp.ttl = 1d;
        set beresp.grace = 1h;
        # browsers and downstream caches keep it for an hour and revalidate with the ETag
        set beresp.http.Cache-Control = "public, max-age=3600, stale-while-revalidate=86400";
        return (deliver);
    }
    set beresp.uncacheable = true;
    set beresp.ttl = 0s;
    return (deliver);
}
