package io.strata.gateway.security;

import java.util.List;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.ExampleObject;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import io.smallrye.mutiny.Uni;
import io.strata.gateway.rest.Problem;
import io.strata.storage.ApiKeyStore.StoredKey;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** Key management, for keys with the {@code admin} scope ({@link AuthFilter}). Secrets are shown once, at creation. */
@Path("/admin/keys")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Keys")
@SecurityRequirement(name = "bearer", scopes = Scopes.ADMIN)
public class AdminResource {

    private static final String PROBLEM = "application/problem+json";
    private static final String KEY_EXAMPLE = "{\"id\":\"key_3f9a0c6e1b2d4a5f\",\"name\":\"orders service\","
            + "\"scopes\":[\"read:orders\",\"write:tenant-a-*\"],\"rateLimit\":100,\"createdAt\":\"2026-01-05T10:00:00Z\","
            + "\"revokedAt\":null";

    private final ApiKeys keys;

    public AdminResource(ApiKeys keys) {
        this.keys = keys;
    }

    @Access(Access.Need.ADMIN)
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(
            operationId = "createKey",
            summary = "Create an API key",
            description = "The answer holds the secret; it is not stored and cannot be shown again. Needs `admin`.")
    @APIResponse(
            responseCode = "201",
            description = "The key, with its secret",
            content =
                    @Content(
                            mediaType = MediaType.APPLICATION_JSON,
                            schema = @Schema(ref = "CreatedKey"),
                            examples =
                                    @ExampleObject(
                                            name = "created",
                                            value = KEY_EXAMPLE
                                                    + ",\"secret\":\"sk_Qm9vay1rZXktZXhhbXBsZS0xMjM0NTY\"}")))
    @APIResponse(
            responseCode = "400",
            description = "Malformed JSON, or a bad name, scope list or rate limit",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples = {
                                @ExampleObject(name = "malformed-json", ref = "malformed-json"),
                                @ExampleObject(name = "invalid-key", ref = "invalid-key")
                            }))
    public Uni<Response> createKey(
            @RequestBody(
                            required = true,
                            content =
                                    @Content(
                                            mediaType = MediaType.APPLICATION_JSON,
                                            schema = @Schema(ref = "KeyRequest"),
                                            examples =
                                                    @ExampleObject(
                                                            name = "key",
                                                            value =
                                                                    "{\"name\":\"orders service\",\"scopes\":[\"read:orders\",\"write:tenant-a-*\"],\"rateLimit\":100}")))
                    String body) {
        JsonObject request;
        try {
            request = new JsonObject(body == null ? "" : body);
        } catch (RuntimeException e) {
            throw Problem.badRequest("malformed-json", "the body is not a JSON object");
        }
        Object name = request.getValue("name");
        Object scopes = request.getValue("scopes");
        Object rateLimit = request.getValue("rateLimit", 0);
        if (!(name instanceof String n) || n.isBlank() || n.length() > 200) {
            throw Problem.badRequest("invalid-key", "name must be a string of 1 to 200 characters");
        }
        if (!(scopes instanceof JsonArray list)
                || list.isEmpty()
                || list.size() > 100
                || !list.stream().allMatch(s -> s instanceof String scope && Scopes.valid(scope))) {
            throw Problem.badRequest(
                    "invalid-key",
                    "scopes must be a non-empty list of admin, read:<collection>[*] or write:<collection>[*]");
        }
        if (!(rateLimit instanceof Integer limit) || limit < 0 || limit > 1_000_000) {
            throw Problem.badRequest(
                    "invalid-key", "rateLimit must be an integer from 0 (the default) to 1000000 requests per second");
        }
        List<String> scopeList =
                list.stream().map(String.class::cast).distinct().toList();
        return keys.create(n, scopeList, limit)
                .map(created -> Response.status(201)
                        .entity(describe(created.key())
                                .put("secret", created.secret())
                                .encode())
                        .build());
    }

    @Access(Access.Need.ADMIN)
    @GET
    @Operation(
            operationId = "listKeys",
            summary = "List API keys",
            description = "Without their secrets. Needs `admin`.")
    @APIResponse(
            responseCode = "200",
            description = "Every key, revoked ones included",
            content =
                    @Content(
                            mediaType = MediaType.APPLICATION_JSON,
                            schema = @Schema(ref = "KeyList"),
                            examples = @ExampleObject(name = "keys", value = "{\"items\":[" + KEY_EXAMPLE + "}]}")))
    public Uni<String> listKeys() {
        return keys.list()
                .map(all -> new JsonObject()
                        .put(
                                "items",
                                new JsonArray(all.stream()
                                        .map(AdminResource::describe)
                                        .toList()))
                        .encode());
    }

    @Access(Access.Need.ADMIN)
    @DELETE
    @Path("{id}")
    // a 204 has no body to negotiate: any Accept will do (a client that accepts only problem+json is not refused)
    @Produces(MediaType.WILDCARD)
    @Operation(
            operationId = "revokeKey",
            summary = "Revoke an API key",
            description =
                    "Takes effect on every instance at once (within strata.auth.key-cache-ttl at worst). Needs `admin`.")
    @APIResponse(responseCode = "204", description = "Revoked")
    @APIResponse(
            responseCode = "404",
            description = "No such key",
            content =
                    @Content(
                            mediaType = PROBLEM,
                            schema = @Schema(ref = "Problem"),
                            examples =
                                    @ExampleObject(
                                            name = "not-found",
                                            value =
                                                    "{\"type\":\"urn:strata:problem:not-found\",\"title\":\"Not found\",\"status\":404,\"detail\":\"no such key\"}")))
    public Uni<Response> revokeKey(
            @Parameter(
                            description = "The key's id",
                            schema =
                                    @Schema(
                                            type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING,
                                            pattern = "^key_[a-z0-9_]{1,64}$"))
                    @PathParam("id")
                    String id) {
        if (id == null || !id.matches("key_[a-z0-9_]{1,64}")) {
            throw new Problem(404, "not-found", "Not found", "no such key");
        }
        return keys.revoke(id).map(key -> {
            if (key == null) {
                throw new Problem(404, "not-found", "Not found", "no such key");
            }
            return Response.noContent().build();
        });
    }

    private static JsonObject describe(StoredKey key) {
        return new JsonObject()
                .put("id", key.id())
                .put("name", key.name())
                .put("scopes", new JsonArray(key.scopes()))
                .put("rateLimit", key.rateLimit())
                .put("createdAt", key.createdAt().toString())
                .put(
                        "revokedAt",
                        key.revokedAt() == null ? null : key.revokedAt().toString());
    }
}
