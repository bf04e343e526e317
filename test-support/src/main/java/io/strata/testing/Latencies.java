package io.strata.testing;

import java.util.Arrays;

/** Latencies of one stream of requests, recorded from any thread, summarised as percentiles. */
public final class Latencies {

    private long[] nanos = new long[4096];
    private int count;

    public synchronized void record(long elapsedNanos) {
        if (count == nanos.length) {
            nanos = Arrays.copyOf(nanos, count * 2);
        }
        nanos[count++] = elapsedNanos;
    }

    public synchronized void clear() {
        count = 0;
    }

    public synchronized int count() {
        return count;
    }

    /** The {@code p}-th percentile (0 < p ≤ 100) in milliseconds, by the nearest-rank method; 0 when empty. */
    public synchronized double percentileMillis(double p) {
        if (count == 0) {
            return 0;
        }
        long[] sorted = Arrays.copyOf(nanos, count);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100 * count);
        return sorted[Math.max(0, Math.min(count, rank) - 1)] / 1e6;
    }

    public double maxMillis() {
        return percentileMillis(100);
    }
}
