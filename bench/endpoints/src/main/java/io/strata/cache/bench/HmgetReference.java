package io.strata.cache.bench;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.strata.bench.RedisReference;
import io.strata.cache.CacheConfig;
import io.strata.cache.redis.CacheKeys;
import io.strata.cache.redis.Entry;
import io.strata.cache.redis.RedisNodes;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;

/**
 * One {@code HMGET} of a document's cache entry per call, the same command a strict read sends, over
 * the same connections and under the same per-master guard ({@link RedisNodes}), and nothing else:
 * no near cache, no fill, no invalidation bookkeeping. What a strict read that misses the near cache
 * costs beyond this is the cache protocol's own work.
 */
@ApplicationScoped
public class HmgetReference implements RedisReference {

    private final RedisNodes redis;
    private final CacheKeys keys;

    public HmgetReference(RedisNodes redis, CacheConfig config) {
        this.redis = redis;
        this.keys = new CacheKeys(config.keyPrefix());
    }

    @Override
    public Uni<Found> read(String collection, String id) {
        String entryKey = keys.entry(collection, id);
        Request lookup = Request.cmd(Command.HMGET).arg(entryKey).arg(Entry.FIELDS[0]).arg(Entry.FIELDS[1]).arg(Entry.FIELDS[2]);
        return redis.send(entryKey, "bench_hmget", lookup).map(response -> {
            if (response == null || response.size() < 2 || response.get(0) == null || response.get(1) == null) {
                return null;
            }
            return new Found(Long.parseLong(response.get(0).toString()), response.get(1).toBytes());
        });
    }
}
