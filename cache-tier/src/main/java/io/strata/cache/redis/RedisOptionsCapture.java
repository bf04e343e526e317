package io.strata.cache.redis;

import jakarta.inject.Singleton;

import io.quarkus.redis.client.RedisOptionsCustomizer;
import io.vertx.redis.client.RedisOptions;

/**
 * Keeps the options Quarkus builds for the default Redis client (endpoints, credentials, TLS), so
 * that the near cache's subscription connects exactly as the client does. Changes nothing.
 */
@Singleton
public class RedisOptionsCapture implements RedisOptionsCustomizer {

    private volatile RedisOptions options;

    @Override
    public void customize(String clientName, RedisOptions options) {
        if (this.options == null || "<default>".equals(clientName)) {
            this.options = new RedisOptions(options);
        }
    }

    /** A copy of the default client's options, or {@code null} before the client is created. */
    public RedisOptions options() {
        RedisOptions current = options;
        return current == null ? null : new RedisOptions(current);
    }
}
