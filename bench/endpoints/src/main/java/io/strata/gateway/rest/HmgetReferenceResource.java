package io.strata.gateway.rest;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;

import io.smallrye.mutiny.Uni;
import io.strata.bench.RedisReference;
import io.strata.gateway.security.Access;

/**
 * The benchmark's Redis reference: a document read answered by one {@code HMGET} of its cache entry
 * (see {@code io.strata.cache.bench.HmgetReference}), through the same HTTP stack, filters,
 * authentication and name checks as a document read. A strict read that misses the near cache is
 * compared with it. Part of the bench build only ({@code -Pbench}).
 */
@Path("/v1/{collection}/bench:hmget/{id}")
public class HmgetReferenceResource {

    private final RedisReference redis;

    public HmgetReferenceResource(RedisReference redis) {
        this.redis = redis;
    }

    @Access(Access.Need.READ)
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(hidden = true)
    public Uni<Response> read(@PathParam("collection") String collection, @PathParam("id") String id) {
        Names.collection(collection);
        Names.id(id);
        return redis.read(collection, id).map(found -> {
            if (found == null) {
                throw new Problem(404, "not-found", "Not found", "no cached entry");
            }
            return Response.ok(found.body(), MediaType.APPLICATION_JSON_TYPE)
                    .header("ETag", "\"" + found.version() + "\"").header("Cache-Status", "strata; hit").build();
        });
    }
}
