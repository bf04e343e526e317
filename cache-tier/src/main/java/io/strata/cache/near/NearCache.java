package io.strata.cache.near;

import java.time.Duration;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.strata.cache.CacheConfig;
import io.strata.cache.CacheStatus;
import io.strata.cache.CachedLookup;
import io.strata.storage.Lookup;

/**
 * The near cache (L1): answers of strict reads held in this process, keyed by the document's Redis
 * entry key, which is also what invalidation messages name. Bounded in bytes; entries stay until
 * they are invalidated or evicted.
 *
 * <h2>When an entry answers a strict read</h2>
 * Only while this instance holds a valid lease ({@link NearLeases}) that has been valid without a
 * gap since the entry's read began, and no invalidation of the document arrived since then. A write
 * is acknowledged only after every lease holder acknowledged its invalidation or that holder's lease
 * ran out, and a holder cannot renew its lease while an invalidation it owes is outstanding; so an
 * entry that passes these checks is no older than any acknowledged write. When the lease lapses,
 * everything held is dropped.
 *
 * <h2>When an entry answers a read that accepts staleness</h2>
 * Exact entries always do. Otherwise (no valid lease) an entry is served only while younger than
 * {@code min(maxStale, ttl)}: entries are stamped with the start of the read that produced them, and a
 * strict read is never older than a write acknowledged before it began. While the invalidation
 * channel is down nothing is served, and everything is dropped.
 *
 * <h2>Invalidations and reads in flight</h2>
 * A read that began before an invalidation of its document cannot put its answer in: the time of the
 * last invalidation is kept per bucket of keys (a bucket shared by other keys only makes a few more
 * answers go unheld), for as long as the process lives.
 */
final class NearCache {

    /** A held answer, until when it is fresh (epoch ms), and the {@link Clock#nanoTime()} at which its read began. */
    private record Held(Lookup lookup, long freshUntil, long readAt) {}

    /** Bytes an entry costs besides its body: key, entry objects, the cache's own node. */
    private static final int ENTRY_OVERHEAD = 200;

    private static final int BUCKETS = 1 << 16;
    private static final long NEVER = Long.MAX_VALUE;

    private final Cache<String, Held> entries;
    private final long[] invalidatedAt = new long[BUCKETS];
    private final long ttlNanos;
    private final long maxBodyBytes;
    /** Since when invalidations are received ({@link #NEVER}: not now). */
    private volatile long channelSince = NEVER;
    /** Since when the lease has been valid without a gap ({@link #NEVER}: not now). */
    private volatile long leaseSince = NEVER;
    /** Until when the lease is valid. */
    private volatile long leaseUntil = Long.MIN_VALUE;

    /** The clocks the bounds are measured with: monotonic nanoseconds, and epoch milliseconds for freshness. */
    interface Clock {
        Clock SYSTEM = new Clock() {
            public long nanoTime() {
                return System.nanoTime();
            }

            public long epochMillis() {
                return System.currentTimeMillis();
            }
        };

        long nanoTime();

        long epochMillis();
    }

    private final Clock clock;

    NearCache(CacheConfig.Near config) {
        this(config, Clock.SYSTEM);
    }

    NearCache(CacheConfig.Near config, Clock clock) {
        this.clock = clock;
        this.ttlNanos = config.ttl().toNanos();
        this.maxBodyBytes = config.maxBodySize().asLongValue();
        this.entries = Caffeine.newBuilder()
                .maximumWeight(config.maxBytes().asLongValue())
                .weigher((String key, Held held) -> weight(key, held))
                .build();
        java.util.Arrays.fill(invalidatedAt, Long.MIN_VALUE);
    }

    private static int weight(String key, Held held) {
        long body =
                held.lookup() instanceof Lookup.Found found ? found.document().body().length : 0;
        return (int) Math.min(Integer.MAX_VALUE, ENTRY_OVERHEAD + 2L * key.length() + body);
    }

    /** A moment to stamp a read with, taken before the read begins. */
    long now() {
        return clock.nanoTime();
    }

    /**
     * The held answer for {@code key}: for a strict read ({@code maxStale == null}) only an exact one
     * that is still fresh (past its freshness, the cache tier's own rules for stale entries apply);
     * otherwise also one at most {@code maxStale} (and the TTL) old. {@code null}: none.
     */
    CachedLookup get(String key, Duration maxStale) {
        if (channelSince == NEVER) {
            return null;
        }
        Held held = entries.getIfPresent(key);
        if (held == null) {
            return null;
        }
        long now = clock.nanoTime();
        if (exact(held, now) && held.freshUntil() > clock.epochMillis()) {
            return answer(held);
        }
        if (maxStale == null || now - held.readAt() > Math.min(maxStale.toNanos(), ttlNanos)) {
            return null;
        }
        return answer(held);
    }

    private static CachedLookup answer(Held held) {
        return new CachedLookup(held.lookup(), CacheStatus.NEAR_HIT, held.freshUntil());
    }

    private boolean exact(Held held, long now) {
        long since = leaseSince;
        if (since == NEVER || now - leaseUntil >= 0) {
            return false;
        }
        return held.readAt() - since >= 0 && held.readAt() - channelSince >= 0;
    }

    /** Whether strict reads may be answered here now (a valid lease and a live channel). */
    boolean exactNow() {
        return channelSince != NEVER && leaseSince != NEVER && clock.nanoTime() - leaseUntil < 0;
    }

    /**
     * Holds the answer of a strict read that began at {@code readAt}, unless an invalidation of the
     * document (or a gap in the invalidation channel) came after that moment. Returns whether it was held.
     */
    boolean offer(String key, Lookup lookup, long freshUntil, long readAt) {
        if (readAt - channelSince < 0
                || lookup instanceof Lookup.Found found && found.document().body().length > maxBodyBytes
                || invalidatedSince(key, readAt)) {
            return false;
        }
        Held held = new Held(lookup, freshUntil, readAt);
        entries.asMap()
                .merge(
                        key,
                        held,
                        (old, next) -> next.lookup().version() >= old.lookup().version() ? next : old);
        // an invalidation that arrived while this answer was being put in is not overwritten by it
        if (invalidatedSince(key, readAt) || readAt - channelSince < 0) {
            entries.asMap().remove(key, held);
            return false;
        }
        return true;
    }

    private static int bucket(String key) {
        int h = key.hashCode();
        return (h ^ (h >>> 16)) & (BUCKETS - 1);
    }

    private boolean invalidatedSince(String key, long readAt) {
        long at = invalidatedAt[bucket(key)];
        return at != Long.MIN_VALUE && at - readAt >= 0;
    }

    /** Drops the document's entry; reads that began before now cannot put theirs back. */
    void invalidate(String key) {
        invalidatedAt[bucket(key)] = clock.nanoTime();
        entries.invalidate(key);
    }

    /** The invalidation channel is (again) receiving: start from an empty cache. */
    void live() {
        entries.invalidateAll();
        channelSince = clock.nanoTime();
    }

    /** The invalidation channel is down: serve and hold nothing until it is back. */
    void down() {
        channelSince = NEVER;
        entries.invalidateAll();
    }

    boolean isLive() {
        return channelSince != NEVER;
    }

    /**
     * The lease was renewed: valid until {@code until} (nanoTime). If it had lapsed, it is valid again
     * from {@code renewedAt} on: only reads that begin after that may answer strict reads.
     */
    void leaseRenewed(long renewedAt, long until) {
        if (leaseSince == NEVER) {
            leaseSince = renewedAt;
        }
        leaseUntil = until;
    }

    /** The lease lapsed (or was given up): entries may have missed invalidations, so they all go. */
    void leaseLost() {
        leaseSince = NEVER;
        leaseUntil = Long.MIN_VALUE;
        entries.invalidateAll();
    }

    /** Whether the lease has run out without this process noticing yet. */
    boolean leaseLapsed() {
        return leaseSince != NEVER && clock.nanoTime() - leaseUntil >= 0;
    }

    long size() {
        return entries.estimatedSize();
    }

    /** The bytes held, by the weigher's count. */
    long weightedBytes() {
        entries.cleanUp();
        return entries.policy()
                .eviction()
                .map(eviction -> eviction.weightedSize().orElse(0))
                .orElse(0L);
    }
}
