package io.strata.cache.near;

import java.time.Duration;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.strata.cache.CacheConfig;
import io.strata.storage.Lookup;

/**
 * The near cache (L1): answers of strict reads held in this process, for reads that accept bounded
 * staleness. Keyed by the document's Redis entry key, which is also what invalidation messages name.
 *
 * <h2>Staleness bound</h2>
 * An entry is stamped with the moment its read began; a strict read is never older than a write
 * acknowledged before it began, so an entry of age {@code a} lags the latest acknowledged write by at
 * most {@code a}. Entries are served only while {@code a <= min(maxStale, ttl)}: the TTL is a hard
 * bound that holds even when invalidation messages are lost. Invalidations make the lag much shorter
 * in practice:
 * <ul>
 * <li>an invalidation removes the entry and is remembered for one TTL, so that a read that began
 * before it cannot put the older answer back;</li>
 * <li>while the invalidation channel is down nothing is served or stored, and every entry is dropped
 * when it comes back (messages may have been missed meanwhile).</li>
 * </ul>
 */
final class NearCache {

    /** A held answer and the {@link System#nanoTime()} at which its read began. */
    private record Held(Lookup lookup, long readAt) {
    }

    /** Bytes an entry costs besides its body: key, entry objects, the cache's own node. */
    private static final int ENTRY_OVERHEAD = 200;
    /** Recent invalidations kept (each a key and a time): far more than the writes of one TTL. */
    private static final int INVALIDATIONS_REMEMBERED = 100_000;

    private final Cache<String, Held> entries;
    private final Cache<String, Long> invalidatedAt;
    private final long ttlNanos;
    private final long maxBodyBytes;
    /** Since when invalidations are received ({@link Long#MAX_VALUE}: not now). */
    private volatile long liveSince = Long.MAX_VALUE;

    NearCache(CacheConfig.Near config) {
        this.ttlNanos = config.ttl().toNanos();
        this.maxBodyBytes = config.maxBodySize().asLongValue();
        this.entries = Caffeine.newBuilder().maximumWeight(config.maxBytes().asLongValue())
                .weigher((String key, Held held) -> weight(key, held))
                .expireAfterWrite(config.ttl()).build();
        this.invalidatedAt = Caffeine.newBuilder().maximumSize(INVALIDATIONS_REMEMBERED)
                .expireAfterWrite(config.ttl()).build();
    }

    private static int weight(String key, Held held) {
        long body = held.lookup() instanceof Lookup.Found found ? found.document().body().length : 0;
        return (int) Math.min(Integer.MAX_VALUE, ENTRY_OVERHEAD + 2L * key.length() + body);
    }

    /** The held answer for {@code key} if it is at most {@code maxStale} (and the TTL) old, else null. */
    Lookup get(String key, Duration maxStale) {
        if (liveSince == Long.MAX_VALUE) {
            return null;
        }
        Held held = entries.getIfPresent(key);
        if (held == null || System.nanoTime() - held.readAt() > Math.min(maxStale.toNanos(), ttlNanos)) {
            return null;
        }
        return held.lookup();
    }

    /** A moment to stamp a read with, taken before the read begins. */
    static long now() {
        return System.nanoTime();
    }

    /**
     * Holds the answer of a strict read that began at {@code readAt}, unless an invalidation of the
     * document (or a gap in the invalidation channel) came after that moment. Returns whether it was held.
     */
    boolean offer(String key, Lookup lookup, long readAt) {
        if (readAt < liveSince || lookup instanceof Lookup.Found found && found.document().body().length > maxBodyBytes
                || invalidatedSince(key, readAt)) {
            return false;
        }
        Held held = new Held(lookup, readAt);
        entries.asMap().merge(key, held, (old, next) -> next.lookup().version() >= old.lookup().version() ? next : old);
        // an invalidation that arrived while this answer was being put in is not overwritten by it
        if (invalidatedSince(key, readAt) || readAt < liveSince) {
            entries.asMap().remove(key, held);
            return false;
        }
        return true;
    }

    private boolean invalidatedSince(String key, long readAt) {
        Long at = invalidatedAt.getIfPresent(key);
        return at != null && at - readAt >= 0;
    }

    /** Drops the document's entry; reads that began before now cannot put theirs back. */
    void invalidate(String key) {
        invalidatedAt.put(key, System.nanoTime());
        entries.invalidate(key);
    }

    /** The invalidation channel is (again) receiving: start from an empty cache. */
    void live() {
        entries.invalidateAll();
        liveSince = System.nanoTime();
    }

    /** The invalidation channel is down: serve and hold nothing until it is back. */
    void down() {
        liveSince = Long.MAX_VALUE;
        entries.invalidateAll();
    }

    boolean isLive() {
        return liveSince != Long.MAX_VALUE;
    }

    long size() {
        return entries.estimatedSize();
    }

    /** The bytes held, by the weigher's count (evictions pending included until the next clean-up). */
    long weightedBytes() {
        entries.cleanUp();
        return entries.policy().eviction().map(eviction -> eviction.weightedSize().orElse(0)).orElse(0L);
    }
}
