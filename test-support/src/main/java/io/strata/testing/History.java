package io.strata.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

/**
 * A record of concurrent operations on documents, and the checker of Strata's read invariant: once
 * a write is acknowledged, no read that begins afterwards returns an older state. A 404 is the state
 * of the latest deletion.
 *
 * <p>A read that accepted staleness ({@code max-stale=N}) is held to its own bound: it may answer
 * an older state, but never one older than the newest write acknowledged more than N before the read
 * began. The checker treats it as a strict read that began N earlier. Each document of a batchGet
 * answer is a read of its own (its {@code unprocessed} ids are not reads).
 *
 * <p>Versions order the writes of one document. Deletions answer no version, so they are ordered by
 * real time: a deletion that ended before a write began is older than the write, and one that began
 * after a write ended is newer. The checker only reports what is certainly a violation.
 *
 * <p>A write answered with an error may still have committed (a 503 saying it is committed but not
 * yet visible, a timeout): it is recorded as unacknowledged. Reads may return it or not; it never
 * makes an older read a violation, since nobody was told it happened.
 */
public final class History {

    public enum Kind {
        PUT,
        DELETE,
        READ,
        UNACKNOWLEDGED_PUT,
        UNACKNOWLEDGED_DELETE
    }

    /**
     * One completed operation.
     *
     * @param version   for PUT the version written; for READ the version returned, or {@link #ABSENT}; for
     *                  UNACKNOWLEDGED_PUT the version its answer named, or {@link #UNKNOWN}
     * @param staleness for READ, the staleness it accepted in nanoseconds (0: strict)
     * @param detail    how it was answered (gateway, cache status), shown with a violation; may be empty
     */
    public record Op(Kind kind, String key, long version, long start, long end, long staleness, String detail) {

        /** When the writes this read must reflect had to be acknowledged by. */
        long mustReflectBefore() {
            return start - staleness;
        }

        @Override
        public String toString() {
            return kind + " " + key + " v" + version + " [" + start + ", " + end + "]"
                    + (staleness > 0
                            ? " max-stale=" + Duration.ofNanos(staleness).toMillis() + "ms"
                            : "")
                    + (detail.isEmpty() ? "" : " (" + detail + ")");
        }
    }

    public static final long ABSENT = -1;
    public static final long UNKNOWN = -2;

    private final Collection<Op> ops = new ConcurrentLinkedQueue<>();

    public void record(Kind kind, String key, long version, long start, long end) {
        record(kind, key, version, start, end, "");
    }

    public void record(Kind kind, String key, long version, long start, long end, String detail) {
        ops.add(new Op(kind, key, version, start, end, 0, detail));
    }

    /** A read that accepted an answer up to {@code maxStale} behind the latest write. */
    public void readAcceptingStaleness(
            String key, long version, long start, long end, Duration maxStale, String detail) {
        ops.add(new Op(Kind.READ, key, version, start, end, maxStale.toNanos(), detail));
    }

    public List<Op> ops() {
        return List.copyOf(ops);
    }

    public long count(Kind kind) {
        return ops.stream().filter(op -> op.kind() == kind).count();
    }

    /** Every read that returned a state older than one it had to reflect. */
    public List<String> violations() {
        List<String> violations = new ArrayList<>();
        Map<String, List<Op>> byKey = ops.stream().collect(Collectors.groupingBy(Op::key));
        for (List<Op> keyOps : byKey.values()) {
            List<Op> puts = keyOps.stream().filter(op -> op.kind() == Kind.PUT).toList();
            List<Op> deletes =
                    keyOps.stream().filter(op -> op.kind() == Kind.DELETE).toList();
            List<Op> unacknowledged = keyOps.stream()
                    .filter(op -> op.kind() == Kind.UNACKNOWLEDGED_PUT || op.kind() == Kind.UNACKNOWLEDGED_DELETE)
                    .toList();
            for (Op read : keyOps) {
                if (read.kind() != Kind.READ) {
                    continue;
                }
                long since = read.mustReflectBefore();
                if (read.version() == ABSENT) {
                    for (Op put : puts) {
                        boolean acknowledgedBefore = put.end() < since;
                        boolean laterDeletePossible =
                                deletes.stream().anyMatch(d -> d.end() > put.start() && d.start() < read.end())
                                        || unacknowledged.stream()
                                                .anyMatch(u -> u.kind() == Kind.UNACKNOWLEDGED_DELETE
                                                        && u.end() > put.start()
                                                        && u.start() < read.end());
                        if (acknowledgedBefore && !laterDeletePossible) {
                            violations.add("404 after acknowledged write " + put + ": " + read);
                            break;
                        }
                    }
                    continue;
                }
                Op source = puts.stream()
                        .filter(p -> p.version() == read.version())
                        .findFirst()
                        .orElse(null);
                if (source == null) {
                    source = unacknowledged.stream()
                            .filter(u -> u.kind() == Kind.UNACKNOWLEDGED_PUT
                                    && (u.version() == read.version() || u.version() == UNKNOWN)
                                    && u.start() < read.end())
                            .findFirst()
                            .orElse(null);
                }
                if (source == null) {
                    violations.add("read of a version never written: " + read);
                    continue;
                }
                for (Op put : puts) {
                    if (put.version() > read.version() && put.end() < since) {
                        violations.add(
                                "read of version " + read.version() + " after acknowledged " + put + ": " + read);
                        break;
                    }
                }
                for (Op delete : deletes) {
                    if (delete.end() < since && source.end() < delete.start()) {
                        violations.add("read of deleted version " + read.version() + " after " + delete + ": " + read);
                        break;
                    }
                }
            }
        }
        return violations;
    }
}
