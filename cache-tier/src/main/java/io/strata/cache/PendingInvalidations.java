package io.strata.cache;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Documents whose cache entry could not be updated after an acknowledged write. Until the entry is
 * removed from Redis, reads of these documents on this instance bypass the cache, so the write is
 * never followed by an older read here.
 *
 * <p>Each mark carries a generation: a retry removes only the mark it started from, so a newer
 * failure of the same document that arrives meanwhile stays pending.
 */
final class PendingInvalidations {

    record Key(String collection, String id) {
    }

    private final Map<Key, Long> pending = new ConcurrentHashMap<>();
    private final AtomicLong generations = new AtomicLong();

    void add(String collection, String id) {
        pending.put(new Key(collection, id), generations.incrementAndGet());
    }

    boolean contains(String collection, String id) {
        return !pending.isEmpty() && pending.containsKey(new Key(collection, id));
    }

    Map<Key, Long> snapshot() {
        return Map.copyOf(pending);
    }

    void resolved(Key key, long generation) {
        pending.remove(key, generation);
    }

    int size() {
        return pending.size();
    }
}
