package io.strata.gateway.rest;

import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import io.strata.storage.StorageException;
import io.strata.storage.StorageUnavailableException;

/**
 * Every error leaves as {@code application/problem+json} with type, title, status and detail: our
 * own problems, storage refusals, the framework's routing errors (404, 405, 406, 415) and failures
 * of the services behind the gateway.
 */
public class ProblemMappers {

    private static final Logger LOG = Logger.getLogger(ProblemMappers.class);
    public static final String PROBLEM_JSON = "application/problem+json";
    /** Retry-After of a 503: about the time a storage circuit breaker takes to try again. */
    static final int RETRY_AFTER_SECONDS = 2;

    @ServerExceptionMapper
    public Response problem(Problem problem) {
        return toResponse(problem);
    }

    @ServerExceptionMapper
    public Response storage(StorageException e) {
        return toResponse(switch (e) {
            case StorageException.PreconditionFailed p -> new Problem(412, "precondition-failed", "Precondition failed",
                    "the document's current version does not satisfy If-Match or If-None-Match");
            case StorageException.NotFound n -> new Problem(404, "not-found", "Not found", "no such document");
            case StorageException.Conflict c -> new Problem(409, "conflict", "Conflict",
                    "the document kept changing while the patch was applied; try again");
        });
    }

    @ServerExceptionMapper
    public Response patchTooLarge(io.strata.gateway.json.JsonBodies.TooLarge e) {
        return toResponse(new Problem(413, "too-large", "Content too large", e.getMessage()));
    }

    /** A committed write whose visibility the cache could not guarantee in time: not acknowledged, not lost. */
    @ServerExceptionMapper
    public Response notVisible(io.strata.cache.WriteNotVisibleException e) {
        return Response.fromResponse(toResponse(new Problem(503, "write-not-visible", "Write committed but not yet visible",
                e.getMessage(), RETRY_AFTER_SECONDS))).header("ETag", "\"" + e.version() + "\"").build();
    }

    @ServerExceptionMapper
    public Response unavailable(StorageUnavailableException e) {
        LOG.debugf("storage unavailable: %s", e.getMessage());
        return toResponse(new Problem(503, "unavailable", "Service unavailable",
                "storage is unavailable or overloaded; try again shortly", RETRY_AFTER_SECONDS));
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        String phrase = Response.Status.fromStatusCode(status) != null
                ? Response.Status.fromStatusCode(status).getReasonPhrase() : "Error";
        // one title per problem type, in the catalogue's case ("Not found" whether a document or a route is missing)
        String title = phrase.charAt(0) + phrase.substring(1).toLowerCase(java.util.Locale.ROOT);
        String detail = switch (status) {
            case 404 -> "no such resource";
            case 405 -> "method not allowed on this resource";
            case 406 -> "this resource answers application/json only";
            case 415 -> "unsupported content type";
            default -> e.getMessage() == null ? title : e.getMessage();
        };
        String type = title.toLowerCase().replace(' ', '-');
        Response response = toResponse(new Problem(status, type, title, detail));
        if (status == 405 && e.getResponse().getHeaderString("Allow") != null) {
            return Response.fromResponse(response).header("Allow", e.getResponse().getHeaderString("Allow")).build();
        }
        return response;
    }

    /**
     * Anything else is a bug. (Storage failures never arrive here: the storage adapter classifies
     * them and throws {@link StorageUnavailableException}, answered 503 above; Redis failures never
     * fail a request.)
     */
    @ServerExceptionMapper(priority = 10_000)
    public Response unexpected(Throwable e) {
        LOG.error("unexpected failure", e);
        return toResponse(new Problem(500, "internal", "Internal error", "an unexpected error occurred"));
    }

    public static Response toResponse(Problem problem) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "urn:strata:problem:" + problem.type());
        body.put("title", problem.title());
        body.put("status", problem.status());
        body.put("detail", problem.detail());
        Response.ResponseBuilder builder = Response.status(problem.status()).type(PROBLEM_JSON).entity(body);
        if (problem.retryAfterSeconds() != null) {
            builder.header("Retry-After", problem.retryAfterSeconds());
        }
        return builder.build();
    }
}
