package io.strata.gateway.rest;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import io.strata.gateway.config.ApiConfig;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;

/**
 * Refuses a request whose declared {@code Content-Length} is over the limit before its body is
 * read, with the same problem+json as any other error.
 */
@Singleton
public class BodyLimitFilter {

    void install(@Observes Router router, ApiConfig config) {
        long max = config.maxBodyBytes();
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
                    int status = declared < 0 ? 400 : 413;
                    JsonObject problem = new JsonObject()
                            .put("type", "urn:strata:problem:" + (status == 413 ? "too-large" : "invalid-content-length"))
                            .put("title", status == 413 ? "Content too large" : "Bad request")
                            .put("status", status)
                            .put("detail", status == 413 ? "the body exceeds the limit of " + max + " bytes"
                                    : "Content-Length is not a number");
                    ctx.response().setStatusCode(status)
                            .putHeader("Content-Type", ProblemMappers.PROBLEM_JSON)
                            .putHeader("Connection", "close")
                            .end(problem.encode());
                    return;
                }
            }
            ctx.next();
        });
    }
}
