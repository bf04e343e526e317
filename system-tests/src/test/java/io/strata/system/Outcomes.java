package io.strata.system;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What requests of each kind were answered: counts by kind and outcome (a status such as
 * {@code 200} or {@code 503}, or the failure of the exchange itself such as {@code timeout} or
 * {@code io: Connection reset}), and a few samples of outcomes a test did not expect.
 */
final class Outcomes {

    private final Map<String, Map<String, LongAdder>> counts = new ConcurrentSkipListMap<>();
    private final List<String> samples = Collections.synchronizedList(new ArrayList<>());

    void count(String kind, String outcome) {
        counts.computeIfAbsent(kind, k -> new ConcurrentHashMap<>())
                .computeIfAbsent(outcome, o -> new LongAdder())
                .increment();
    }

    void sample(String description) {
        if (samples.size() < 20) {
            samples.add(description);
        }
    }

    List<String> samples() {
        synchronized (samples) {
            return List.copyOf(samples);
        }
    }

    /** Outcome counts of one kind, sorted by outcome. */
    Map<String, Long> of(String kind) {
        Map<String, Long> result = new TreeMap<>();
        counts.getOrDefault(kind, Map.of()).forEach((outcome, n) -> result.put(outcome, n.sum()));
        return result;
    }

    long countOf(String kind, String outcome) {
        LongAdder n = counts.getOrDefault(kind, Map.of()).get(outcome);
        return n == null ? 0 : n.sum();
    }

    long total(String kind) {
        return of(kind).values().stream().mapToLong(Long::longValue).sum();
    }

    List<String> kinds() {
        return List.copyOf(counts.keySet());
    }
}
