package io.strata.gateway.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Limits of the v1 document API. */
@ConfigMapping(prefix = "strata.api")
public interface ApiConfig {

    /** Largest accepted request body, in bytes (a larger one is refused with 413). */
    @WithDefault("1048576")
    long maxBodyBytes();

    /** Deepest accepted nesting of arrays and objects in a document. */
    @WithDefault("128")
    int maxJsonDepth();

    /** Most ids in one batchGet request. */
    @WithDefault("1000")
    int batchMaxIds();

    /** Most document bytes in one batchGet response; further ids are returned as unprocessed. */
    @WithDefault("4194304")
    long batchMaxResponseBytes();

    /** Most document bytes in one list page; the page ends early and {@code next} continues. */
    @WithDefault("1048576")
    long listMaxResponseBytes();

    /**
     * Bytes this instance holds at once for list pages, batchGet answers and merge patches (each
     * reserves its bound while it works, then what its answer takes until it is written). Sized for a
     * 512 MiB container.
     */
    @WithDefault("67108864")
    long memoryBudget();

    /** How long a list, batchGet or merge patch waits for its share of the memory budget before it is answered 503. */
    @WithDefault("2s")
    java.time.Duration memoryWait();

    /** Page size of a list request that names none. */
    @WithDefault("100")
    int listDefaultLimit();

    /** Largest page size a list request may ask for. */
    @WithDefault("1000")
    int listMaxLimit();

    /** Largest request line target (path and query), in bytes; longer: 414. */
    @WithDefault("8192")
    int maxUriLength();

    /** Largest total size of the request headers, in bytes; larger: 431. */
    @WithDefault("16384")
    int maxHeaderBytes();

    /** Most request headers; more: 431. */
    @WithDefault("100")
    int maxHeaderCount();

    /** Most query parameters; more: 400. */
    @WithDefault("16")
    int maxQueryParameters();
}
