package io.strata.gateway.rest;

import java.util.List;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import io.strata.gateway.config.ApiConfig;
import io.strata.gateway.security.CanonicalPath;
import io.strata.gateway.security.Refusals;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;

/**
 * Refuses, before anything else runs and with the same problem+json as any other error, a request
 * with a method no route answers (405), a target that is not a path (400), a target, headers or
 * query parameters over their limits ({@link RequestLimits}), whose path
 * is not in canonical form ({@link CanonicalPath}), or whose declared {@code Content-Length} is over
 * the body limit (before the body is read).
 */
@Singleton
public class BodyLimitFilter {

    /** The methods some route answers (HEAD with GET); anything else is refused before routing. */
    public static final List<String> METHODS = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE");

    private static final String ALLOW = String.join(", ", METHODS);

    private static final String NOT_A_PATH =
            "the request target must be a path (origin form), not an absolute URI or *";

    void install(@Observes Router router, ApiConfig config, Refusals refusals) {
        long max = config.maxBodyBytes();
        // a target that is not a URI is refused by the router before any handler runs: answer it in kind
        router.errorHandler(400, ctx -> {
            if (!ctx.response().ended() && !ctx.response().headWritten()) {
                refuse(ctx, 400, "Bad request", "invalid-uri", "the request target is not a valid URI (RFC 3986)");
            }
        });
        // a target that is not a path (`*`, some absolute forms) matches no route at all: answer in kind
        router.errorHandler(404, ctx -> {
            if (!ctx.response().ended() && !ctx.response().headWritten()) {
                if (ctx.request().uri().startsWith("/")) {
                    refuse(ctx, 404, "Not found", "not-found", "no such route");
                } else {
                    refuse(ctx, 400, "Bad request", "invalid-request-target", NOT_A_PATH);
                }
            }
        });
        router.route().order(-110).handler(ctx -> {
            // every method name and every target that reaches the router becomes a metric label, and the
            // framework answers OPTIONS by itself: what no route answers is refused here, in kind
            if (!METHODS.contains(ctx.request().method().name())) {
                ctx.response().putHeader("Allow", ALLOW);
                refuse(ctx, 405, "Method not allowed", "method-not-allowed", "Strata answers " + ALLOW + " only");
                return;
            }
            if (!ctx.request().uri().startsWith("/")) {
                refuse(ctx, 400, "Bad request", "invalid-request-target", NOT_A_PATH);
                return;
            }
            String refusal = RequestLimits.check(ctx.request(), config);
            if (refusal != null) {
                int status = Integer.parseInt(refusal.substring(0, 3));
                refuse(
                        ctx,
                        status,
                        status == 400
                                ? "Bad request"
                                : status == 414 ? "URI too long" : "Request header fields too large",
                        status == 400 ? "invalid-request-target" : "request-too-large",
                        refusal.substring(4));
                return;
            }
            // before the router normalises the path: one spelling per resource, the one that was written
            String nonCanonical = CanonicalPath.violation(ctx.request().path());
            if (nonCanonical != null) {
                refusals.count(Refusals.Reason.NON_CANONICAL_PATH);
                refuse(
                        ctx,
                        400,
                        "Bad request",
                        "non-canonical-path",
                        "the request path is not in canonical form: " + nonCanonical);
                return;
            }
            ctx.next();
        });
        router.route().order(-100).handler(ctx -> {
            String length = ctx.request().getHeader("Content-Length");
            if (length != null) {
                long declared;
                try {
                    declared = Long.parseLong(length.trim());
                } catch (NumberFormatException e) {
                    declared = -1;
                }
                if (declared > max || declared < 0) {
                    if (declared < 0) {
                        refuse(ctx, 400, "Bad request", "invalid-content-length", "Content-Length is not a number");
                    } else {
                        refuse(
                                ctx,
                                413,
                                "Content too large",
                                "too-large",
                                "the body exceeds the limit of " + max + " bytes");
                    }
                    return;
                }
            }
            ctx.next();
        });
    }

    private static void refuse(
            io.vertx.ext.web.RoutingContext ctx, int status, String title, String type, String detail) {
        // answered before routing: the metrics label it with a fixed name, never the path as sent
        io.vertx.core.Context context = io.vertx.core.Vertx.currentContext();
        if (context != null) {
            context.putLocal("UrlPathTemplate", "/refused-before-routing");
        }
        if (ctx.request().version() != HttpVersion.HTTP_2) {
            // the rest of an HTTP/1 connection cannot be trusted after a refused target; HTTP/2 forbids
            // the header (a stream carrying it is reset) and its other streams are framed apart
            ctx.response().putHeader("Connection", "close");
        }
        ctx.response()
                .setStatusCode(status)
                .putHeader("Content-Type", ProblemMappers.PROBLEM_JSON)
                .end(new JsonObject()
                        .put("type", "urn:strata:problem:" + type)
                        .put("title", title)
                        .put("status", status)
                        .put("detail", detail)
                        .encode());
    }
}
