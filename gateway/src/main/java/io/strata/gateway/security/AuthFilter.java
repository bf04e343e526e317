package io.strata.gateway.security;

import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.core.Response;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;

import io.smallrye.mutiny.Uni;
import io.strata.cache.RateLimiter;
import io.strata.gateway.rest.Problem;
import io.strata.gateway.rest.ProblemMappers;

/**
 * Every {@code /v1} and {@code /admin} request: a valid API key ({@code Authorization: Bearer …},
 * else 401), a scope covering the collection and the action (else 403, decided from the path alone,
 * before anything is read, so that a refusal says nothing about what exists), then the key's rate
 * limit (else 429 with {@code Retry-After}). Runs before routing, so unknown paths under these
 * prefixes need a key too.
 */
public class AuthFilter {

    private static final Logger LOG = Logger.getLogger(AuthFilter.class);
    static final String DECISION = "strata.rate-limit";
    static final String KEY = "strata.key";

    private final ApiKeys keys;
    private final RateLimiter limiter;
    private final AuthConfig config;

    public AuthFilter(ApiKeys keys, RateLimiter limiter, AuthConfig config) {
        this.keys = keys;
        this.limiter = limiter;
        this.config = config;
    }

    @ServerRequestFilter(preMatching = true, priority = Priorities.AUTHENTICATION)
    public Uni<Response> authenticate(ContainerRequestContext request, io.vertx.core.http.HttpServerRequest http) {
        String path = http.path();
        boolean admin = path.equals("/admin") || path.startsWith("/admin/");
        if (!admin && !path.equals("/v1") && !path.startsWith("/v1/")) {
            return Uni.createFrom().nullItem();
        }
        String secret = bearer(request.getHeaderString("Authorization"));
        if (secret == null) {
            return Uni.createFrom().item(unauthorized("an API key is required: Authorization: Bearer <key>"));
        }
        return keys.verify(secret).flatMap(key -> {
            if (key == null) {
                return Uni.createFrom().item(unauthorized("the API key is not valid"));
            }
            request.setProperty(KEY, key.id());
            if (!permitted(key, path, request.getMethod(), admin)) {
                return Uni.createFrom().item(ProblemMappers.toResponse(new Problem(403, "forbidden", "Forbidden",
                        "the API key's scopes do not cover this request")));
            }
            return limit(request, key);
        }).onFailure().recoverWithItem(failure -> failure instanceof Problem problem ? ProblemMappers.toResponse(problem)
                : ProblemMappers.toResponse(new Problem(503, "unavailable", "Service unavailable",
                        "API keys cannot be verified right now", 1)));
    }

    private Uni<Response> limit(ContainerRequestContext request, ApiKeys.Verified key) {
        int limit = key.rateLimit() > 0 ? key.rateLimit() : config.defaultRateLimit();
        if (limit <= 0) {
            return Uni.createFrom().nullItem();
        }
        return limiter.acquire(key.id(), limit).map(decision -> {
            request.setProperty(DECISION, decision);
            if (decision.allowed()) {
                return (Response) null;
            }
            Response refused = ProblemMappers.toResponse(new Problem(429, "rate-limited", "Too many requests",
                    "the API key's limit of " + limit + " requests per second is reached", decision.resetSeconds()));
            return Response.fromResponse(refused).header("RateLimit-Limit", decision.limit())
                    .header("RateLimit-Remaining", decision.remaining()).header("RateLimit-Reset", decision.resetSeconds()).build();
        }).onFailure().recoverWithItem(failure -> {
            LOG.debugf("rate limiter unavailable: %s", failure);
            return config.rateLimitFailOpen() ? null
                    : ProblemMappers.toResponse(new Problem(503, "unavailable", "Service unavailable",
                            "the rate limiter is unavailable", 1));
        });
    }

    @ServerResponseFilter
    public void rateLimitHeaders(ContainerRequestContext request, ContainerResponseContext response) {
        if (request.getProperty(DECISION) instanceof RateLimiter.Decision decision && decision.allowed()) {
            response.getHeaders().putSingle("RateLimit-Limit", decision.limit());
            response.getHeaders().putSingle("RateLimit-Remaining", decision.remaining());
            response.getHeaders().putSingle("RateLimit-Reset", decision.resetSeconds());
        }
    }

    /** What the path and method need: {@code admin} under /admin; read or write of the collection under /v1. */
    static boolean permitted(ApiKeys.Verified key, String path, String method, boolean admin) {
        if (admin) {
            return key.scopes().contains(Scopes.ADMIN);
        }
        String[] segments = path.split("/", 4);
        if (segments.length < 3 || segments[2].isEmpty()) {
            return key.scopes().contains(Scopes.ADMIN);
        }
        String collection = segments[2];
        boolean read = method.equals("GET") || method.equals("HEAD")
                || (method.equals("POST") && path.endsWith("/docs:batchGet"));
        return Scopes.allows(key.scopes(), collection, !read);
    }

    private static String bearer(String authorization) {
        if (authorization == null || authorization.length() > 200) {
            return null;
        }
        String[] parts = authorization.trim().split("\\s+");
        return parts.length == 2 && parts[0].equalsIgnoreCase("Bearer") ? parts[1] : null;
    }

    private static Response unauthorized(String detail) {
        return Response.fromResponse(ProblemMappers.toResponse(new Problem(401, "unauthorized", "Unauthorized", detail)))
                .header("WWW-Authenticate", "Bearer realm=\"strata\"").build();
    }
}
