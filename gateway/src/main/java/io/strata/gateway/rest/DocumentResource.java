package io.strata.gateway.rest;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.headers.Header;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.ExampleObject;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import com.fasterxml.jackson.databind.JsonNode;

import io.smallrye.mutiny.Uni;
import io.strata.cache.BatchLookup;
import io.strata.cache.CachedLookup;
import io.strata.cache.DocumentCache;
import io.strata.gateway.config.ApiConfig;
import io.strata.gateway.json.JsonBodies;
import io.strata.gateway.security.Access;
import io.strata.gateway.security.Access.Need;
import io.strata.storage.Document;
import io.strata.storage.Lookup;
import io.strata.storage.Precondition;
import io.strata.storage.WriteResult;
import io.vertx.ext.web.RoutingContext;

/**
 * The v1 document API: JSON documents in named collections. Each method checks names and limits, hands
 * the work to the cache tier, and spells the answer for HTTP. The class is longer than most because each
 * operation carries its OpenAPI description, the contract clients are generated from (api/).
 */
@Path("/v1/{collection}")
@Tag(name = "Documents")
public class DocumentResource {

    static final String MERGE_PATCH_JSON = "application/merge-patch+json";
    private static final String PROBLEM = ProblemMappers.PROBLEM_JSON;
    // OpenAPI: scopes, and the names of components declared in META-INF/openapi.yaml
    private static final String BEARER = "bearer";
    private static final String READ_SCOPE = "read:{collection}";
    private static final String WRITE_SCOPE = "write:{collection}";
    private static final String ANY_JSON = "The document: any JSON value.";
    private static final String EXAMPLE_DOCUMENT = "{\"title\":\"Dune\",\"year\":1965}";
    /**
     * What a batchGet first reads its documents' bodies within (see {@link #batchGet}): most batches fit,
     * and reserve little of the memory budget while they wait for Redis and storage.
     */
    private static final long BATCH_FIRST_PASS_BYTES = 64 * 1024;

    private final DocumentCache cache;
    private final JsonBodies json;
    private final ApiConfig config;
    private final MemoryBudget memory;

    public DocumentResource(DocumentCache cache, JsonBodies json, ApiConfig config, MemoryBudget memory) {
        this.cache = cache;
        this.json = json;
        this.config = config;
        this.memory = memory;
    }

    @Access(Need.READ)
    @GET
    @Path("docs/{id}")
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(
            operationId = "getDocument",
            summary = "Read a document",
            description =
                    "Answers the body byte for byte as it was written, through the cache. Needs `read:<collection>`.")
    @SecurityRequirement(name = BEARER, scopes = READ_SCOPE)
    @APIResponse(
            responseCode = "200",
            description = "The document",
            headers = {@Header(name = "ETag", ref = "ETag"), @Header(name = "Cache-Status", ref = "Cache-Status")},
            content =
                    @Content(
                            mediaType = MediaType.APPLICATION_JSON,
                            schema = @Schema(description = ANY_JSON),
                            examples = @ExampleObject(name = "document", value = EXAMPLE_DOCUMENT)))
    @APIResponse(
            responseCode = "304",
            description = "If-None-Match matched the current version: no body.",
            headers = {@Header(name = "ETag", ref = "ETag"), @Header(name = "Cache-Status", ref = "Cache-Status")})
    @APIResponse(
            responseCode = "400",
            description = "Invalid collection name or id",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = {
                                @ExampleObject(name = "invalid-collection", ref = "invalid-collection"),
                                @ExampleObject(name = "invalid-id", ref = "invalid-id")
                            }))
    @APIResponse(
            responseCode = "404",
            description = "No such document",
            headers = @Header(name = "Cache-Status", ref = "Cache-Status"),
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = @ExampleObject(name = "not-found", ref = "not-found")))
    @APIResponse(
            responseCode = "503",
            ref = "Unavailable",
            description = "Storage cannot answer and no cached copy is usable (see stale-if-error)")
    public Uni<Response> get(
            @Parameter(ref = "collection") @PathParam("collection") String collection,
            @Parameter(ref = "id") @PathParam("id") String id,
            @Parameter(
                            description =
                                    "Entity tags (`\"7\"`, a list, or `*`; weak comparison): 304 when one matches the current version",
                            example = "\"7\"")
                    @HeaderParam("If-None-Match")
                    String ifNoneMatch,
            @Parameter(
                            description =
                                    "`no-cache`: read storage and refresh the cache; `stale-if-error=N`: accept a copy up to N s past "
                                            + "freshness when storage fails; `max-stale=N`: accept an answer up to N s behind the latest write (may come from "
                                            + "the near cache); `max-stale=0`: strict. Other directives are ignored.",
                            example = "max-stale=1")
                    @HeaderParam("Cache-Control")
                    String cacheControl) {
        Names.collection(collection);
        Names.id(id);
        return cache.read(collection, id, CacheControl.readOptions(cacheControl))
                .map(read -> answer(read, ifNoneMatch));
    }

    private static Response answer(CachedLookup read, String ifNoneMatch) {
        String cacheStatus = CacheStatusHeader.of(read.status());
        if (read.lookup() instanceof Lookup.Found found) {
            Document document = found.document();
            if (Preconditions.noneMatchHits(ifNoneMatch, document.version())) {
                return Response.notModified()
                        .header("ETag", document.etag())
                        .header("Cache-Status", cacheStatus)
                        .build();
            }
            return Response.ok(document.body(), MediaType.APPLICATION_JSON_TYPE)
                    .header("ETag", document.etag())
                    .header("Cache-Status", cacheStatus)
                    .build();
        }
        return Response.fromResponse(
                        ProblemMappers.toResponse(new Problem(404, "not-found", "Not found", "no such document")))
                .header("Cache-Status", cacheStatus)
                .build();
    }

    @Access(Need.WRITE)
    @PUT
    @Path("docs/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(
            operationId = "putDocument",
            summary = "Create or replace a document",
            description =
                    "The body is any JSON value (UTF-8, at most 1 MiB, nested at most 128 deep, no repeated member names), "
                            + "stored byte for byte. Needs `write:<collection>`.")
    @SecurityRequirement(name = BEARER, scopes = WRITE_SCOPE)
    @APIResponse(
            responseCode = "200",
            description = "Replaced: the document as stored",
            headers = @Header(name = "ETag", ref = "ETag"),
            content =
                    @Content(
                            mediaType = MediaType.APPLICATION_JSON,
                            schema = @Schema(description = ANY_JSON),
                            examples = @ExampleObject(name = "document", value = EXAMPLE_DOCUMENT)))
    @APIResponse(
            responseCode = "201",
            description = "Created: the document as stored",
            headers = {@Header(name = "ETag", ref = "ETag"), @Header(name = "Location", ref = "Location")},
            content =
                    @Content(
                            mediaType = MediaType.APPLICATION_JSON,
                            schema = @Schema(description = ANY_JSON),
                            examples = @ExampleObject(name = "document", value = EXAMPLE_DOCUMENT)))
    @APIResponse(
            responseCode = "400",
            description = "Malformed JSON or invalid name",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = {
                                @ExampleObject(name = "malformed-json", ref = "malformed-json"),
                                @ExampleObject(name = "invalid-collection", ref = "invalid-collection"),
                                @ExampleObject(name = "invalid-id", ref = "invalid-id")
                            }))
    @APIResponse(
            responseCode = "412",
            description = "If-Match or If-None-Match does not hold (If-Match on an absent document too)",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = @ExampleObject(name = "precondition-failed", ref = "precondition-failed")))
    public Uni<Response> put(
            @Parameter(ref = "collection") @PathParam("collection") String collection,
            @Parameter(ref = "id") @PathParam("id") String id,
            @Parameter(ref = "IfMatch") @HeaderParam("If-Match") String ifMatch,
            @Parameter(ref = "IfNoneMatchWrite") @HeaderParam("If-None-Match") String ifNoneMatch,
            @RequestBody(
                            required = true,
                            content =
                                    @Content(
                                            mediaType = MediaType.APPLICATION_JSON,
                                            schema = @Schema(description = ANY_JSON),
                                            examples = @ExampleObject(name = "document", value = EXAMPLE_DOCUMENT)))
                    byte[] body) {
        Names.collection(collection);
        Names.id(id);
        checkSize(body);
        validateDocument(body);
        Precondition precondition = Preconditions.of(ifMatch, ifNoneMatch);
        return cache.put(collection, id, body, precondition).map(DocumentResource::written);
    }

    @Access(Need.WRITE)
    @PATCH
    @Path("docs/{id}")
    @Consumes(MERGE_PATCH_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(
            operationId = "patchDocument",
            summary = "Change a document with a JSON merge patch (RFC 7396)",
            description =
                    "Members set to null are removed, others replaced or added; a patch that is not an object replaces "
                            + "the document. The result is at most 1 MiB. Needs `write:<collection>`.")
    @SecurityRequirement(name = BEARER, scopes = WRITE_SCOPE)
    @APIResponse(
            responseCode = "200",
            description = "The patched document",
            headers = @Header(name = "ETag", ref = "ETag"),
            content =
                    @Content(
                            mediaType = MediaType.APPLICATION_JSON,
                            schema = @Schema(description = ANY_JSON),
                            examples =
                                    @ExampleObject(
                                            name = "document",
                                            value = "{\"title\":\"Dune\",\"author\":\"Herbert\"}")))
    @APIResponse(
            responseCode = "400",
            description = "Malformed JSON or invalid name",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = {
                                @ExampleObject(name = "malformed-json", ref = "malformed-json"),
                                @ExampleObject(name = "invalid-collection", ref = "invalid-collection"),
                                @ExampleObject(name = "invalid-id", ref = "invalid-id")
                            }))
    @APIResponse(
            responseCode = "404",
            description = "No such document",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = @ExampleObject(name = "not-found", ref = "not-found")))
    @APIResponse(
            responseCode = "409",
            description = "The document kept changing while the patch was applied; try again",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = @ExampleObject(name = "conflict", ref = "conflict")))
    @APIResponse(
            responseCode = "412",
            description = "If-Match does not hold (checked before 404)",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = @ExampleObject(name = "precondition-failed", ref = "precondition-failed")))
    @APIResponse(
            responseCode = "413",
            description = "The patch is over 1 MiB, or the patched document would be",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = @ExampleObject(name = "too-large", ref = "too-large")))
    @APIResponse(
            responseCode = "503",
            ref = "UnavailableOrBusy",
            description = "Storage unavailable, or too many patches at once")
    public Uni<Response> patch(
            @Parameter(ref = "collection") @PathParam("collection") String collection,
            @Parameter(ref = "id") @PathParam("id") String id,
            @Parameter(ref = "IfMatch") @HeaderParam("If-Match") String ifMatch,
            @RequestBody(
                            required = true,
                            content =
                                    @Content(
                                            mediaType = MERGE_PATCH_JSON,
                                            schema = @Schema(description = "A JSON merge patch (RFC 7396)."),
                                            examples =
                                                    @ExampleObject(
                                                            name = "patch",
                                                            value = "{\"year\":null,\"author\":\"Herbert\"}")))
                    byte[] body) {
        Names.collection(collection);
        Names.id(id);
        checkSize(body);
        // a patch holds its own tree (up to ~16 bytes per byte of patch), the stored document and the result
        long bound = 16L * (body == null ? 0 : body.length) + 2 * config.maxBodyBytes();
        return memory.reserve(bound).flatMap(reservation -> {
            JsonNode patch;
            try {
                patch = parseJson(body);
            } catch (RuntimeException e) {
                reservation.release();
                throw e;
            }
            Precondition precondition = Preconditions.of(ifMatch, null);
            return cache.update(
                            collection,
                            id,
                            precondition,
                            current -> json.mergePatch(current, patch, config.maxBodyBytes()))
                    .map(DocumentResource::written)
                    .onTermination()
                    .invoke(reservation::release);
        });
    }

    @Access(Need.WRITE)
    @DELETE
    @Path("docs/{id}")
    @Operation(
            operationId = "deleteDocument",
            summary = "Delete a document",
            description = "Needs `write:<collection>`.")
    @SecurityRequirement(name = BEARER, scopes = WRITE_SCOPE)
    @APIResponse(responseCode = "204", description = "Deleted")
    @APIResponse(
            responseCode = "400",
            description = "Invalid collection name or id",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = {
                                @ExampleObject(name = "invalid-collection", ref = "invalid-collection"),
                                @ExampleObject(name = "invalid-id", ref = "invalid-id")
                            }))
    @APIResponse(
            responseCode = "404",
            description = "No such document",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = @ExampleObject(name = "not-found", ref = "not-found")))
    @APIResponse(
            responseCode = "412",
            description = "If-Match does not hold (also when the document is absent)",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = @ExampleObject(name = "precondition-failed", ref = "precondition-failed")))
    public Uni<Response> delete(
            @Parameter(ref = "collection") @PathParam("collection") String collection,
            @Parameter(ref = "id") @PathParam("id") String id,
            @Parameter(ref = "IfMatch") @HeaderParam("If-Match") String ifMatch) {
        Names.collection(collection);
        Names.id(id);
        return cache.delete(collection, id, Preconditions.of(ifMatch, null))
                .map(deleted -> Response.noContent().build());
    }

    @Access(Need.READ)
    @GET
    @Path("docs")
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(
            operationId = "listDocuments",
            summary = "List documents in byte order of ids",
            description =
                    "A page of at most `limit` documents and at most 1 MiB of them (at least one), read from storage; "
                            + "`next` continues after it. Needs `read:<collection>`.")
    @SecurityRequirement(name = BEARER, scopes = READ_SCOPE)
    @APIResponse(
            responseCode = "200",
            description = "A page",
            headers = @Header(name = "Cache-Status", ref = "Cache-Status"),
            content =
                    @Content(
                            mediaType = MediaType.APPLICATION_JSON,
                            schema = @Schema(ref = "Page"),
                            examples =
                                    @ExampleObject(
                                            name = "page",
                                            value = "{\"items\":[{\"id\":\"dune\",\"version\":7,"
                                                    + "\"doc\":{\"title\":\"Dune\"}}],\"next\":\"ZHVuZQ\"}")))
    @APIResponse(
            responseCode = "400",
            description = "Bad collection name, limit or cursor",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = {
                                @ExampleObject(name = "invalid-collection", ref = "invalid-collection"),
                                @ExampleObject(name = "invalid-limit", ref = "invalid-limit"),
                                @ExampleObject(name = "invalid-cursor", ref = "invalid-cursor")
                            }))
    @APIResponse(
            responseCode = "503",
            ref = "UnavailableOrBusy",
            description = "Storage unavailable, or too many large answers at once")
    public Uni<Response> list(
            @Parameter(ref = "collection") @PathParam("collection") String collection,
            @Parameter(
                            description = "Page size, 1 to 1000 (default 100)",
                            schema =
                                    @Schema(
                                            type = SchemaType.INTEGER,
                                            format = "int32",
                                            minimum = "1",
                                            maximum = "1000",
                                            defaultValue = "100"))
                    @QueryParam("limit")
                    String limit,
            @Parameter(description = "Opaque cursor: a previous page's `next`") @QueryParam("after") String after,
            @Context RoutingContext routing) {
        Names.collection(collection);
        int pageSize = pageSize(limit);
        String afterId = after == null ? null : Cursor.decode(after);
        long budget = config.listMaxResponseBytes();
        // the page's bodies, then its answer: at most twice the budget while it is being built
        return memory.reserve(2 * budget)
                .flatMap(reservation -> cache.list(collection, afterId, pageSize, budget)
                        .map(page -> {
                            ByteArrayOutputStream out = new ByteArrayOutputStream();
                            out.writeBytes("{\"items\":".getBytes(StandardCharsets.UTF_8));
                            JsonBodies.writeItems(out, page.documents());
                            out.writeBytes(",\"next\":".getBytes(StandardCharsets.UTF_8));
                            if (page.lastId() == null) {
                                out.writeBytes("null".getBytes(StandardCharsets.UTF_8));
                            } else {
                                JsonBodies.writeString(out, Cursor.encode(page.lastId()));
                            }
                            out.write('}');
                            byte[] answer = out.toByteArray();
                            reservation.holdUntilWritten(answer.length, routing);
                            // pages are read from storage, never from the cache
                            return Response.ok(answer, MediaType.APPLICATION_JSON_TYPE)
                                    .header("Cache-Status", "strata; fwd=bypass")
                                    .build();
                        })
                        // a client that leaves before the answer is built cancels this: nothing else would give its
                        // share back
                        .onFailure()
                        .invoke(reservation::release)
                        .onCancellation()
                        .invoke(reservation::release));
    }

    @Access(Need.READ)
    @POST
    @Path("docs:batchGet")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(
            operationId = "batchGetDocuments",
            summary = "Read many documents through the cache",
            description =
                    "At most 1000 ids. The answer holds at most 4 MiB of documents (at least one); the ids that did not fit "
                            + "are `unprocessed`, to ask for again. Needs `read:<collection>`.")
    @SecurityRequirement(name = BEARER, scopes = READ_SCOPE)
    @APIResponse(
            responseCode = "200",
            description = "The documents found, the ids missing and the ids to ask again",
            content =
                    @Content(
                            mediaType = MediaType.APPLICATION_JSON,
                            schema = @Schema(ref = "BatchGetResult"),
                            examples =
                                    @ExampleObject(
                                            name = "result",
                                            value =
                                                    "{\"found\":[{\"id\":\"dune\",\"version\":7,"
                                                            + "\"doc\":{\"title\":\"Dune\"}}],\"missing\":[\"emma\"],\"unprocessed\":[]}")))
    @APIResponse(
            responseCode = "400",
            description = "Malformed request, invalid id or too many ids",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = {
                                @ExampleObject(name = "malformed-json", ref = "malformed-json"),
                                @ExampleObject(name = "invalid-batch", ref = "invalid-batch"),
                                @ExampleObject(name = "too-many-ids", ref = "too-many-ids"),
                                @ExampleObject(name = "invalid-collection", ref = "invalid-collection"),
                                @ExampleObject(name = "invalid-id", ref = "invalid-id")
                            }))
    @APIResponse(
            responseCode = "503",
            ref = "UnavailableOrBusy",
            description = "Storage unavailable, or too many large answers at once")
    public Uni<Response> batchGet(
            @Parameter(ref = "collection") @PathParam("collection") String collection,
            @RequestBody(
                            required = true,
                            content =
                                    @Content(
                                            mediaType = MediaType.APPLICATION_JSON,
                                            schema = @Schema(ref = "BatchGetRequest"),
                                            examples =
                                                    @ExampleObject(
                                                            name = "ids",
                                                            value = "{\"ids\":[\"dune\",\"emma\"]}")))
                    byte[] body,
            @Context RoutingContext routing) {
        Names.collection(collection);
        checkSize(body);
        List<String> ids = batchIds(body);
        long budget = config.batchMaxResponseBytes();
        long firstPass = Math.min(budget, BATCH_FIRST_PASS_BYTES);
        // A batch reads in two passes, each under its own share of the memory budget, so that a batch of
        // small documents does not hold the bound of a batch of large ones while it waits for Redis and
        // storage. The first reads bodies within firstPass from each source, except that each source sends
        // its first document whole (at most the largest accepted body); the answer takes as much again.
        // Only when ids are left over does the batch take the full bound (bodies from Redis and from
        // storage, each within the budget, then the answer), if it is free now: a batch never waits for
        // memory while it holds some, and ids it cannot read are unprocessed, to ask again.
        long whole = Math.max(firstPass, config.maxBodyBytes());
        long firstBound = 2 * (firstPass + 2 * whole) + 512L * ids.size();
        return memory.reserve(firstBound)
                .flatMap(first -> cache.readMany(collection, ids, firstPass)
                        .flatMap(batch -> {
                            long read = bodyBytes(batch.found());
                            long left = budget - read;
                            if (batch.unprocessed().isEmpty() || left <= 0) {
                                return Uni.createFrom().item(answer(batch, first, null, routing));
                            }
                            // what the first pass holds: its bodies, and the answer they will make
                            first.shrinkTo(2 * read + 512L * ids.size());
                            MemoryBudget.Reservation second = memory.tryReserve(3 * budget);
                            if (second == null) {
                                return Uni.createFrom().item(answer(batch, first, null, routing));
                            }
                            return cache.readMany(collection, batch.unprocessed(), left)
                                    .map(rest -> answer(joined(ids, batch, rest, left), first, second, routing))
                                    .onFailure()
                                    .invoke(second::release)
                                    .onCancellation()
                                    .invoke(second::release);
                        })
                        // a client that leaves before the answer is built cancels this: nothing else would give its
                        // share back
                        .onFailure()
                        .invoke(first::release)
                        .onCancellation()
                        .invoke(first::release));
    }

    /**
     * The answer, held until it is written under the larger of the batch's reservations; the other is
     * given back.
     */
    private static Response answer(
            BatchLookup batch,
            MemoryBudget.Reservation first,
            MemoryBudget.Reservation second,
            RoutingContext routing) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("{\"found\":".getBytes(StandardCharsets.UTF_8));
        JsonBodies.writeItems(out, batch.found());
        out.writeBytes(",\"missing\":".getBytes(StandardCharsets.UTF_8));
        JsonBodies.writeStrings(out, batch.missing());
        out.writeBytes(",\"unprocessed\":".getBytes(StandardCharsets.UTF_8));
        JsonBodies.writeStrings(out, batch.unprocessed());
        out.write('}');
        byte[] answer = out.toByteArray();
        if (second == null) {
            first.holdUntilWritten(answer.length, routing);
        } else {
            second.holdUntilWritten(answer.length, routing);
            first.release();
        }
        return Response.ok(answer, MediaType.APPLICATION_JSON_TYPE).build();
    }

    /**
     * Both passes' answers as one, in the order asked: each id is found, missing or unprocessed by
     * whichever pass read it. The second pass reads its first document whole, like any batch: a found
     * document that would take the answer past what the budget had {@code left} goes back to
     * unprocessed, with every document after it.
     */
    private static BatchLookup joined(List<String> ids, BatchLookup first, BatchLookup rest, long left) {
        Map<String, Document> found = new HashMap<>();
        first.found().forEach(document -> found.put(document.id(), document));
        long room = left;
        for (Document document : rest.found()) {
            if (document.body().length > room) {
                break;
            }
            room -= document.body().length;
            found.put(document.id(), document);
        }
        Set<String> missing = new HashSet<>(first.missing());
        missing.addAll(rest.missing());
        BatchLookup joined = new BatchLookup(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (String id : new LinkedHashSet<>(ids)) {
            Document document = found.get(id);
            if (document != null) {
                joined.found().add(document);
            } else if (missing.contains(id)) {
                joined.missing().add(id);
            } else {
                joined.unprocessed().add(id);
            }
        }
        return joined;
    }

    private static long bodyBytes(List<Document> documents) {
        long bytes = 0;
        for (Document document : documents) {
            bytes += document.body().length;
        }
        return bytes;
    }

    private List<String> batchIds(byte[] body) {
        List<String> ids;
        try {
            ids = json.batchIds(body == null ? new byte[0] : body, config.batchMaxIds());
        } catch (JsonBodies.InvalidJson e) {
            throw Problem.badRequest("malformed-json", e.getMessage());
        } catch (JsonBodies.InvalidBatch e) {
            throw Problem.badRequest(e.type(), e.getMessage());
        }
        ids.forEach(Names::id);
        return ids;
    }

    private int pageSize(String limit) {
        if (limit == null) {
            return config.listDefaultLimit();
        }
        try {
            int value = Integer.parseInt(limit);
            if (value >= 1 && value <= config.listMaxLimit()) {
                return value;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw Problem.badRequest("invalid-limit", "limit must be an integer from 1 to " + config.listMaxLimit());
    }

    private static Response written(WriteResult write) {
        Document document = write.document();
        Response.ResponseBuilder builder = write.created()
                ? Response.created(URI.create("/v1/" + write.collection() + "/docs/" + write.id()))
                : Response.ok();
        return builder.entity(document.body())
                .type(MediaType.APPLICATION_JSON_TYPE)
                .header("ETag", document.etag())
                .build();
    }

    private void checkSize(byte[] body) {
        if (body != null && body.length > config.maxBodyBytes()) {
            throw new Problem(
                    413,
                    "too-large",
                    "Content too large",
                    "the body exceeds the limit of " + config.maxBodyBytes() + " bytes");
        }
    }

    private void validateDocument(byte[] body) {
        try {
            json.validate(body == null ? new byte[0] : body);
        } catch (JsonBodies.InvalidJson e) {
            throw Problem.badRequest("malformed-json", e.getMessage());
        }
    }

    private JsonNode parseJson(byte[] body) {
        try {
            return json.parse(body == null ? new byte[0] : body);
        } catch (JsonBodies.InvalidJson e) {
            throw Problem.badRequest("malformed-json", e.getMessage());
        }
    }
}
