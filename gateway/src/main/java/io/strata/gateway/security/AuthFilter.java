package io.strata.gateway.security;

import java.lang.reflect.Method;

import jakarta.ws.rs.Path;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;

import io.smallrye.mutiny.Uni;
import io.strata.cache.RateLimiter;
import io.strata.gateway.rest.Problem;
import io.strata.gateway.rest.ProblemMappers;
import io.strata.gateway.security.Refusals.Reason;

/**
 * Authentication, authorisation and rate limits, decided on what the router dispatched: the resource
 * method it matched ({@link Access} on it says what the route needs; a method without it is refused)
 * and that route's decoded {@code collection} parameter. Request paths reach the router only in
 * canonical form ({@link CanonicalPath}), so the path a client wrote and the route it reaches cannot
 * disagree. Every route on the API port needs a valid key ({@code Authorization: Bearer …}, else
 * 401); the key's scopes must cover the route (else 403, before anything is read, so that a refusal
 * says nothing about what exists); then the key's rate limit applies (else 429 with
 * {@code Retry-After}). A target that matches no route is answered 404 or 405 by the router without
 * reaching any resource.
 */
public class AuthFilter {

    private static final Logger LOG = Logger.getLogger(AuthFilter.class);
    static final String DECISION = "strata.rate-limit";
    static final String KEY = "strata.key";

    private final ApiKeys keys;
    private final RateLimiter limiter;
    private final AuthConfig config;
    private final Refusals refusals;
    private final AuditLog audit;

    public AuthFilter(ApiKeys keys, RateLimiter limiter, AuthConfig config, Refusals refusals, AuditLog audit) {
        this.keys = keys;
        this.limiter = limiter;
        this.config = config;
        this.refusals = refusals;
        this.audit = audit;
    }

    @ServerRequestFilter(priority = Priorities.AUTHENTICATION)
    public Uni<Response> authorize(ContainerRequestContext request, ResourceInfo route, UriInfo uri) {
        Method method = route.getResourceMethod();
        Access access = method == null ? null : method.getAnnotation(Access.class);
        if (access == null) {
            LOG.errorf("route %s has no access rule: refused", method);
            return Uni.createFrom().item(forbidden());
        }
        String authorization = request.getHeaderString("Authorization");
        if (authorization == null) {
            refusals.count(Reason.MISSING_KEY);
            return Uni.createFrom().item(unauthorized("an API key is required: Authorization: Bearer <key>", null));
        }
        String secret = bearer(authorization);
        if (secret == null) {
            refusals.count(Reason.INVALID_KEY);
            return Uni.createFrom().item(unauthorized("the Authorization header is not 'Bearer <key>'", null));
        }
        String collection = uri.getPathParameters().getFirst("collection");
        return keys.verify(secret)
                .flatMap(verification -> {
                    ApiKeys.Verified key = verification.key();
                    if (key == null) {
                        refusals.count(verification.throttled() ? Reason.LOOKUP_BUDGET : Reason.INVALID_KEY);
                        return Uni.createFrom()
                                .item(
                                        verification.throttled()
                                                ? unauthorized(
                                                        "too many unknown API keys are being presented to this instance; try again",
                                                        1)
                                                : unauthorized("the API key is not valid", null));
                    }
                    request.setProperty(KEY, key.id());
                    if (!permitted(key, access.value(), collection)) {
                        refusals.count(Reason.FORBIDDEN);
                        return Uni.createFrom().item(forbidden());
                    }
                    return limit(request, key);
                })
                .onFailure()
                .recoverWithItem(failure -> failure instanceof Problem problem
                        ? ProblemMappers.toResponse(problem)
                        : ProblemMappers.toResponse(new Problem(
                                503,
                                "unavailable",
                                "Service unavailable",
                                "API keys cannot be verified right now",
                                1)));
    }

    /** Whether the key covers what the matched route needs, for the collection the route names. */
    static boolean permitted(ApiKeys.Verified key, Access.Need need, String collection) {
        return switch (need) {
            case ADMIN -> Scopes.isAdmin(key.scopes());
            case READ -> Scopes.allows(key.scopes(), collection, false);
            case WRITE -> Scopes.allows(key.scopes(), collection, true);
        };
    }

    private Uni<Response> limit(ContainerRequestContext request, ApiKeys.Verified key) {
        int limit = key.rateLimit() > 0 ? key.rateLimit() : config.defaultRateLimit();
        if (limit <= 0) {
            return Uni.createFrom().nullItem();
        }
        return limiter.acquire(key.id(), limit)
                .onFailure()
                .recoverWithItem(failure -> {
                    LOG.debugf("rate limiter unavailable: %s", failure);
                    return config.rateLimitFailOpen() ? limiter.acquireLocally(key.id(), limit) : null;
                })
                .map(decision -> {
                    if (decision == null) {
                        return ProblemMappers.toResponse(new Problem(
                                503, "unavailable", "Service unavailable", "the rate limiter is unavailable", 1));
                    }
                    request.setProperty(DECISION, decision);
                    if (decision.allowed()) {
                        return null;
                    }
                    refusals.count(Reason.RATE_LIMITED);
                    Response refused = ProblemMappers.toResponse(new Problem(
                            429,
                            "rate-limited",
                            "Too many requests",
                            "the API key's limit of " + limit + " requests per second is reached",
                            decision.resetSeconds()));
                    return Response.fromResponse(refused)
                            .header("RateLimit-Limit", decision.limit())
                            .header("RateLimit-Remaining", decision.remaining())
                            .header("RateLimit-Reset", decision.resetSeconds())
                            .build();
                });
    }

    @ServerResponseFilter
    public void afterwards(
            ContainerRequestContext request, ContainerResponseContext response, ResourceInfo route, UriInfo uri) {
        if (request.getProperty(DECISION) instanceof RateLimiter.Decision decision && decision.allowed()) {
            response.getHeaders().putSingle("RateLimit-Limit", decision.limit());
            response.getHeaders().putSingle("RateLimit-Remaining", decision.remaining());
            response.getHeaders().putSingle("RateLimit-Reset", decision.resetSeconds());
        }
        Method method = route.getResourceMethod();
        Access access = method == null ? null : method.getAnnotation(Access.class);
        if (access != null && access.value() != Access.Need.READ) {
            audit.record(
                    access.value(),
                    request.getMethod(),
                    template(route),
                    uri.getPathParameters().getFirst("collection"),
                    uri.getPathParameters().getFirst("id"),
                    (String) request.getProperty(KEY),
                    response.getStatus());
        }
    }

    /** The route template the router matched, such as {@code /v1/{collection}/docs/{id}}. */
    static String template(ResourceInfo route) {
        Path type = route.getResourceClass() == null
                ? null
                : route.getResourceClass().getAnnotation(Path.class);
        Path method = route.getResourceMethod() == null
                ? null
                : route.getResourceMethod().getAnnotation(Path.class);
        String path = (type == null ? "" : type.value()) + (method == null ? "" : "/" + method.value());
        return path.replaceAll("/+", "/");
    }

    private static String bearer(String authorization) {
        if (authorization.length() > 200) {
            return null;
        }
        String[] parts = authorization.trim().split("\\s+");
        return parts.length == 2 && parts[0].equalsIgnoreCase("Bearer") ? parts[1] : null;
    }

    private static Response forbidden() {
        return ProblemMappers.toResponse(
                new Problem(403, "forbidden", "Forbidden", "the API key's scopes do not cover this request"));
    }

    private static Response unauthorized(String detail, Integer retryAfter) {
        return Response.fromResponse(
                        ProblemMappers.toResponse(new Problem(401, "unauthorized", "Unauthorized", detail, retryAfter)))
                .header("WWW-Authenticate", "Bearer realm=\"strata\"")
                .build();
    }
}
