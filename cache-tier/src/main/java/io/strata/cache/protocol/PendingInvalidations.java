package io.strata.cache.protocol;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Documents whose cached copy may be older than an acknowledged write: the write-through failed here,
 * another instance announced that its write-through failed, or the change log holds a change nobody
 * confirmed. Until this instance has removed the document's keys from Redis, its reads of the
 * document bypass the cache.
 *
 * <p>Each mark carries a generation: a retry removes only the mark it started from, so a newer mark
 * of the same document that arrives meanwhile stays pending.
 */
public final class PendingInvalidations {

    public record Key(String collection, String id) {}

    /** @param version the write's version when known (0 for an announcement), to confirm its change */
    public record Mark(long generation, long version) {}

    private final Map<Key, Mark> pending = new ConcurrentHashMap<>();
    private final AtomicLong generations = new AtomicLong();

    /** Marks the document pending (again); the mark it now has, to resolve only that one. */
    public Mark add(String collection, String id, long version) {
        return pending.merge(
                new Key(collection, id),
                new Mark(generations.incrementAndGet(), version),
                (old, next) -> new Mark(next.generation(), Math.max(old.version(), next.version())));
    }

    public boolean contains(String collection, String id) {
        return !pending.isEmpty() && pending.containsKey(new Key(collection, id));
    }

    public Map<Key, Mark> snapshot() {
        return Map.copyOf(pending);
    }

    public void resolved(Key key, Mark mark) {
        pending.remove(key, mark);
    }

    public int size() {
        return pending.size();
    }
}
