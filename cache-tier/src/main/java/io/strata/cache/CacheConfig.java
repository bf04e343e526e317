package io.strata.cache;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The cache tier's protocol and fault-tolerance settings. */
@ConfigMapping(prefix = "strata.cache")
public interface CacheConfig {

    /** First part of every Redis key; the key format version follows it. */
    @WithDefault("strata")
    String keyPrefix();

    /** How long a cached document is fresh. */
    @WithDefault("1h")
    Duration ttl();

    /** Random extra freshness, as a fraction of the TTL, so that entries filled together do not expire together. */
    @WithDefault("0.1")
    double ttlJitter();

    /** How long a negative entry (a document that is absent or deleted) is fresh. */
    @WithDefault("30s")
    Duration negativeTtl();

    /**
     * How long past its freshness an entry may be served while storage fails (RFC 5861
     * {@code stale-if-error}); a client's own {@code stale-if-error=N} replaces it, up to this bound.
     */
    @WithDefault("10m")
    Duration staleIfError();

    /** How long past its freshness an entry is served at once while one background read refreshes it. */
    @WithDefault("30s")
    Duration staleWhileRevalidate();

    /** Lifetime of a fill token, which is also the lease a filling reader holds (a fill slower than this is discarded). */
    @WithDefault("3s")
    Duration fillTokenTtl();

    /**
     * How long a reader waits for another reader's fill (the lease holder's) before it reads storage
     * itself. As long as the lease by default: a holder that died costs its waiters at most that.
     */
    @WithDefault("3s")
    Duration leaseWait();

    /** How often pending invalidations are retried and the change log is swept. */
    @WithDefault("250ms")
    Duration invalidationRetryInterval();

    /**
     * A change not confirmed after this long is taken for a lost write-through (its writer stopped, or
     * its answer was lost) and invalidated by whichever instance finds it.
     */
    @WithDefault("1s")
    Duration unconfirmedChangeAge();

    /**
     * How long, from its commit, a write may take to bring the cache up to date: its write-through,
     * the invalidations that replace a failed one and the wait for another instance to remove its
     * document's cached copy. Past it the write is answered with an error saying that it is committed
     * but not yet visible everywhere; it is never acknowledged before that. Holders of near-cache
     * leases may delay the answer by one lease more.
     */
    @WithDefault("2s")
    Duration writeVisibilityTimeout();

    /**
     * How long a write whose outcome is unknown (storage timed out, or its connection broke while it ran)
     * is watched for its commit, so that its document's cached copy goes again when it shows up: at least
     * twice the storage timeout.
     */
    @WithDefault("4s")
    Duration unknownOutcomeWatch();

    /** How often the Redis Cluster slot map used to group commands per node is refreshed. */
    @WithDefault("5s")
    Duration topologyRefreshInterval();

    /**
     * Replicas that must acknowledge a write-through or an invalidation ({@code WAIT}) before it counts
     * as done, so that it survives the failover of its master. Unset (the default): follow the
     * topology, waiting for one replica whenever the document's master has one; 0: never wait.
     */
    java.util.Optional<Integer> replicaAcks();

    /** How long a write-through waits for those replica acknowledgements. */
    @WithDefault("250ms")
    Duration replicaAckTimeout();

    Redis redis();

    Near near();

    /**
     * The near cache (L1): documents held in this process. Strict reads use it while this instance
     * holds a valid lease (see NearLeases); reads that accept bounded staleness ({@code max-stale=N},
     * or a collection's default) also within their bound.
     */
    interface Near {
        /** Whether this instance keeps a near cache and writes publish invalidations for it. */
        @WithDefault("true")
        boolean enabled();

        /**
         * Whether strict reads are answered from the near cache under a lease. Writes then wait for
         * every lease holder's answer to their invalidation (or for its lease to run out).
         */
        @WithDefault("true")
        boolean strictReads();

        /**
         * The near-cache lease: how long an instance may answer strict reads without renewing it, and
         * so the longest a write waits for an instance that stopped answering.
         */
        @WithDefault("2s")
        Duration lease();

        /** Without a valid lease: the hard bound on how old a near-cache answer to a max-stale read may be. */
        @WithDefault("1s")
        Duration ttl();

        /**
         * Most bytes held (bodies plus a per-entry overhead); the least recently used go first. Sized
         * for a 512 MiB container: a bounded share of its heap, however large the documents.
         */
        @WithDefault("32M")
        io.quarkus.runtime.configuration.MemorySize maxBytes();

        /** Documents larger than this are not held (their bytes would crowd out many small ones). */
        @WithDefault("64K")
        io.quarkus.runtime.configuration.MemorySize maxBodySize();

        /**
         * The staleness a collection's reads accept when the client says nothing (as if it sent
         * {@code max-stale=N}). E.g. {@code strata.cache.near.default-max-stale."catalog"=1s}.
         */
        java.util.Map<String, Duration> defaultMaxStale();
    }

    /** Guards around Redis calls (per Redis master). */
    interface Redis {
        /**
         * Longest a single Redis command may take before the request goes to storage instead. Only
         * timeouts a probe confirms count for the breaker (see MasterGuard), so this bounds a request's
         * wait for a sick Redis without turning a pause of this process into an outage.
         */
        @WithDefault("250ms")
        Duration timeout();

        /** Longest a pipeline (a batch read, a write-through that waits for a replica) may take. */
        @WithDefault("500ms")
        Duration batchTimeout();

        /**
         * Longest an invalidation that repairs the cache may take (retries of failed write-throughs,
         * the change-log sweep): longer than a read's timeout, since a write waits for it rather than
         * giving up, and a slow Redis must not turn into failed writes.
         */
        @WithDefault("1s")
        Duration repairTimeout();

        /** Connections to each master, on which commands are pipelined. */
        @WithDefault("2")
        int connectionsPerNode();

        /** Commands in flight per Redis master. */
        @WithDefault("1024")
        int bulkheadLimit();

        /** Commands that may wait for a place per Redis master; beyond that they go to storage. */
        @WithDefault("1024")
        int bulkheadQueue();

        /** Calls in the breaker's rolling window. */
        @WithDefault("20")
        int breakerRequestVolume();

        /** Share of failed calls that opens a master's breaker. */
        @WithDefault("0.5")
        double breakerFailureRatio();

        /** How long an open breaker stays open before a trial call. */
        @WithDefault("2s")
        Duration breakerDelay();

        /** Successful trial calls that close the breaker. */
        @WithDefault("2")
        int breakerSuccessThreshold();
    }
}
