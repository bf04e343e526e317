package io.strata.gateway.rest;

import java.util.Arrays;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.openapi.annotations.Operation;

import io.smallrye.mutiny.Uni;
import io.strata.gateway.security.Access;

/**
 * The benchmark's ceiling: a constant JSON body of the benchmark's document size, answered from
 * memory through the same HTTP stack, filters, authentication and name checks as a document read, so
 * that the benchmark can compare a cache hit with what the stack itself costs. Part of the bench
 * build only ({@code -Pbench}); the production build has no such route.
 */
@Path("/v1/{collection}/bench:ceiling/{id}")
public class CeilingResource {

    private final byte[] body;

    public CeilingResource(@ConfigProperty(name = "strata.bench.ceiling-bytes", defaultValue = "200") int size) {
        byte[] bytes = new byte[Math.max(size, 8)];
        Arrays.fill(bytes, (byte) 'x');
        bytes[0] = '"';
        bytes[bytes.length - 1] = '"';
        this.body = bytes;
    }

    @Access(Access.Need.READ)
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(hidden = true)
    public Uni<Response> ceiling(@PathParam("collection") String collection, @PathParam("id") String id) {
        Names.collection(collection);
        Names.id(id);
        return Uni.createFrom().item(Response.ok(body, MediaType.APPLICATION_JSON_TYPE)
                .header("ETag", "\"1\"").header("Cache-Status", "strata; hit").build());
    }
}
