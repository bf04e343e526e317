package io.strata.gateway.rest;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;

import io.smallrye.mutiny.Uni;
import io.strata.gateway.security.Access;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The benchmark's write reference: a document write answered by one upsert through the same reactive
 * pool the storage adapter uses, through the same HTTP stack, filters, authentication and name checks
 * as a document write, and nothing else (no preconditions, change log, cache or near-cache work). A
 * PUT is compared with it. It writes rows that Strata's own writes would also write, without their
 * change record: the benchmark points it at a collection that nothing reads. Part of the bench build
 * only ({@code -Pbench}).
 */
@Path("/v1/{collection}/bench:upsert/{id}")
public class UpsertReferenceResource {

    private static final String UPSERT = "INSERT INTO documents (collection, id, version, body) "
            + "VALUES ($1, $2, nextval('strata_version_seq'), $3) "
            + "ON CONFLICT (collection, id) DO UPDATE SET version = nextval('strata_version_seq'), body = EXCLUDED.body "
            + "RETURNING version";

    private final Pool pool;

    public UpsertReferenceResource(Pool pool) {
        this.pool = pool;
    }

    @Access(Access.Need.WRITE)
    @PUT
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(hidden = true)
    public Uni<Response> write(@PathParam("collection") String collection, @PathParam("id") String id, byte[] body) {
        Names.collection(collection);
        Names.id(id);
        return pool.preparedQuery(UPSERT).execute(Tuple.tuple().addString(collection).addString(id).addBuffer(Buffer.buffer(body)))
                .map(rows -> Response.ok().header("ETag", "\"" + rows.iterator().next().getLong(0) + "\"").build());
    }
}
