package io.strata.gateway.openapi;

import java.util.Map;

import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.Operation;
import org.eclipse.microprofile.openapi.models.PathItem;
import org.eclipse.microprofile.openapi.models.media.Content;
import org.eclipse.microprofile.openapi.models.media.MediaType;
import org.eclipse.microprofile.openapi.models.responses.APIResponse;
import org.eclipse.microprofile.openapi.models.responses.APIResponses;

import io.quarkus.smallrye.openapi.OpenApiFilter;

/**
 * Adds to every operation the answers that do not depend on the operation: those of the edge filters
 * that run before any resource method (request limits, canonical paths, keys, scopes, rate limits) and
 * of the error mappers. Adds {@code HEAD} beside the document read, which the HTTP layer answers from
 * the {@code GET} method without a body. Runs at build time, so the document written at build and the
 * one served are the same.
 */
@OpenApiFilter(OpenApiFilter.RunStage.BUILD)
public class ApiContractFilter implements OASFilter {

    static final String PROBLEM_JSON = "application/problem+json";
    static final String DOCUMENT_PATH = "/v1/{collection}/docs/{id}";
    /** Problems any request can meet before it reaches its route's own checks. */
    private static final String[] RATE_LIMIT_HEADERS = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"};

    private static final String[] REQUEST_PROBLEMS = {
        "non-canonical-path", "invalid-request-target", "invalid-uri", "invalid-content-length"
    };

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        if (openAPI.getPaths() == null) {
            return;
        }
        for (PathItem item : openAPI.getPaths().getPathItems().values()) {
            item.getOperations().values().forEach(ApiContractFilter::addSharedAnswers);
        }
        PathItem document = openAPI.getPaths().getPathItem(DOCUMENT_PATH);
        if (document != null && document.getGET() != null && document.getHEAD() == null) {
            document.setHEAD(head(document.getGET()));
        }
    }

    private static void addSharedAnswers(Operation operation) {
        APIResponses responses = operation.getResponses();
        // the rate limiter admitted every answer the route itself gives, and says so in these headers
        for (APIResponse answer : responses.getAPIResponses().values()) {
            if (answer.getRef() == null) {
                for (String header : RATE_LIMIT_HEADERS) {
                    if (answer.getHeaders() == null || !answer.getHeaders().containsKey(header)) {
                        answer.addHeader(header, OASFactory.createHeader().ref(header));
                    }
                }
            }
        }
        APIResponse badRequest = responses.getAPIResponse("400");
        if (badRequest == null) {
            badRequest =
                    OASFactory.createAPIResponse().description("The request is not in a form the gateway accepts.");
            responses.addAPIResponse("400", badRequest);
        }
        if (badRequest.getRef() == null) {
            MediaType problem = problemContent(badRequest);
            for (String type : REQUEST_PROBLEMS) {
                if (problem.getExamples() == null || !problem.getExamples().containsKey(type)) {
                    problem.addExample(type, OASFactory.createExample().ref(type));
                }
            }
        }
        shared(responses, "401", "Unauthorized");
        shared(responses, "403", "Forbidden");
        if (answersJson(operation)) {
            shared(responses, "406", "NotAcceptable");
        }
        if (operation.getRequestBody() != null) {
            shared(responses, "413", "TooLarge");
            shared(responses, "415", "UnsupportedMediaType");
        }
        shared(responses, "414", "UriTooLong");
        shared(responses, "429", "RateLimited");
        shared(responses, "431", "HeadersTooLarge");
        shared(responses, "500", "Internal");
        shared(responses, "503", "Unavailable");
    }

    private static MediaType problemContent(APIResponse response) {
        if (response.getContent() == null) {
            response.setContent(OASFactory.createContent());
        }
        Content content = response.getContent();
        MediaType problem = content.getMediaType(PROBLEM_JSON);
        if (problem == null) {
            problem = OASFactory.createMediaType()
                    .schema(OASFactory.createSchema().ref("Problem"));
            content.addMediaType(PROBLEM_JSON, problem);
        }
        return problem;
    }

    private static void shared(APIResponses responses, String status, String component) {
        if (responses.getAPIResponse(status) == null) {
            responses.addAPIResponse(status, OASFactory.createAPIResponse().ref(component));
        }
    }

    private static boolean answersJson(Operation operation) {
        return operation.getResponses().getAPIResponses().entrySet().stream()
                .anyMatch(e -> e.getKey().startsWith("2")
                        && e.getValue().getContent() != null
                        && e.getValue().getContent().hasMediaType("application/json"));
    }

    /** The document read without its body: the same answers, headers included, and no content. */
    private static Operation head(Operation get) {
        APIResponses responses = OASFactory.createAPIResponses();
        for (Map.Entry<String, APIResponse> entry :
                get.getResponses().getAPIResponses().entrySet()) {
            APIResponse answer = entry.getValue();
            String description = answer.getRef() != null
                    ? "See " + answer.getRef().substring(answer.getRef().lastIndexOf('/') + 1) + " (without a body)."
                    : answer.getDescription();
            responses.addAPIResponse(
                    entry.getKey(),
                    OASFactory.createAPIResponse().description(description).headers(answer.getHeaders()));
        }
        return OASFactory.createOperation()
                .operationId("headDocument")
                .summary("Read a document's version without its body")
                .description(
                        "The answer of GET with no body: status, ETag and Cache-Status. Needs `read:<collection>`.")
                .tags(get.getTags())
                .parameters(get.getParameters())
                .security(get.getSecurity())
                .responses(responses);
    }
}
