package io.strata.gateway.rest;

/**
 * An error answered as {@code application/problem+json} (RFC 9457). Thrown anywhere on the request
 * path, mapped by {@link ProblemMappers}.
 */
public final class Problem extends RuntimeException {

    private final int status;
    private final String type;
    private final String title;
    private final Integer retryAfterSeconds;

    public Problem(int status, String type, String title, String detail) {
        this(status, type, title, detail, null);
    }

    public Problem(int status, String type, String title, String detail, Integer retryAfterSeconds) {
        super(detail, null, false, false);
        this.status = status;
        this.type = type;
        this.title = title;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public static Problem badRequest(String type, String detail) {
        return new Problem(400, type, "Bad request", detail);
    }

    public int status() {
        return status;
    }

    /** Short, stable name of the problem type; the URI is {@code urn:strata:problem:<type>}. */
    public String type() {
        return type;
    }

    public String title() {
        return title;
    }

    public String detail() {
        return getMessage();
    }

    public Integer retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
