package io.strata.gateway.security;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.opentelemetry.api.trace.Span;
import io.vertx.core.json.JsonObject;

/**
 * The audit trail: one JSON event per admin action and per write, refused or not, on the logger
 * {@code strata.audit}. It names the key by its id (never its secret), the route template the router
 * matched, the collection and document, the status answered and the trace id. Log shipping keeps these
 * lines like any other; their logger name is what selects them.
 */
@Singleton
public class AuditLog {

    private static final Logger LOG = Logger.getLogger("strata.audit");

    void record(Access.Need need, String method, String route, String collection, String id, String keyId, int status) {
        JsonObject event = new JsonObject()
                .put("event", need == Access.Need.ADMIN ? "admin" : "write")
                .put("method", method)
                .put("route", route)
                .put("collection", collection)
                .put("id", id)
                .put("keyId", keyId)
                .put("status", status);
        String traceId = Span.current().getSpanContext().getTraceId();
        if (Span.current().getSpanContext().isValid()) {
            event.put("traceId", traceId);
        }
        LOG.info(event.encode());
    }
}
