package io.strata.system;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.IntStream;

import io.strata.testing.Workload;

/**
 * One fault scenario: concurrent writers and readers over a few documents record a history while a
 * fault is injected {@code faultAt} into the load and healed {@code faultFor} later (healed whatever
 * happens). The scenario fails on any read older than it may be, on any acknowledged write missing
 * from PostgreSQL, on a p99 past {@link #P99_BOUND_MILLIS}, and on pending invalidations that are
 * not applied after the fault; its row goes to the table before anything is asserted.
 */
final class Scenario {

    /** A fault: {@link #heal()} runs after {@link #inject()}, whether it succeeded or not. */
    interface Fault {
        Fault NONE = new Fault() {
            public void inject() {}

            public void heal() {}
        };

        void inject() throws Exception;

        void heal() throws Exception;
    }

    /**
     * Latency bound of every scenario: a fault may cost a request a Redis timeout, a write its bounded
     * wait for visibility, or a fast 503, never a connect timeout or a hang. Generous for this shared
     * 2-core machine (observed p99: 55–560 ms without a paused process).
     */
    static final long P99_BOUND_MILLIS = 3000;

    private final FaultLab lab;
    private final String name;
    private List<GatewayProcess> writeTo;
    private List<GatewayProcess> readFrom;
    private int keys = 12;
    private int documentBytes;
    private int writers = 4;
    private int readers = 8;
    private Workload.Reads reads = new Workload.Reads(0, 10, 10);
    private Duration load = Duration.ofSeconds(8);
    private Duration faultAt = Duration.ofMillis(1500);
    private Duration faultFor = Duration.ofSeconds(5);
    private Function<Workload, String> describe = workload -> "";
    private boolean pinned;
    private Duration clientTimeout = Duration.ofSeconds(5);

    Scenario(FaultLab lab, String name) {
        this.lab = lab;
        this.name = name;
        this.writeTo = lab.gateways;
        this.readFrom = lab.gateways;
    }

    Scenario writesTo(GatewayProcess... gateways) {
        this.writeTo = List.of(gateways);
        return this;
    }

    Scenario readsFrom(GatewayProcess... gateways) {
        this.readFrom = List.of(gateways);
        return this;
    }

    /** Each load thread sends all its requests to one gateway (a paused gateway then holds up only its own threads). */
    Scenario pinThreads() {
        this.pinned = true;
        return this;
    }

    Scenario keys(int count) {
        this.keys = count;
        return this;
    }

    Scenario documentBytes(int bytes) {
        this.documentBytes = bytes;
        return this;
    }

    Scenario threads(int writerThreads, int readerThreads) {
        this.writers = writerThreads;
        this.readers = readerThreads;
        return this;
    }

    Scenario reads(Workload.Reads mix) {
        this.reads = mix;
        return this;
    }

    Scenario timing(Duration loadFor, Duration injectAt, Duration healAfter) {
        this.load = loadFor;
        this.faultAt = injectAt;
        this.faultFor = healAfter;
        return this;
    }

    /**
     * How long a client waits for an answer before counting it as an error (5 s unless the scenario's
     * fault has a documented longer bound).
     */
    Scenario clientTimeout(Duration timeout) {
        this.clientTimeout = timeout;
        return this;
    }

    /** What goes to the notes column, computed after the load (scenario-specific figures). */
    Scenario describe(Function<Workload, String> description) {
        this.describe = description;
        return this;
    }

    /**
     * Settles the gateways, primes the documents, runs the load with the fault, reads every document
     * again after recovery, records the row and asserts.
     *
     * @param settling the gateways that must settle first (those whose Redis calls can succeed)
     */
    Workload run(Fault fault, List<GatewayProcess> settling) throws Exception {
        lab.settle(settling);
        String collection =
                "fault-" + name.toLowerCase().replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
        collection = collection.substring(0, Math.min(collection.length(), 60));
        List<String> ids = IntStream.range(0, keys).mapToObj(i -> "k" + i).toList();
        Function<List<java.net.URI>, java.util.function.Supplier<java.net.URI>> spread =
                pinned ? Workload::pinned : Workload::anyOf;
        Workload workload = new Workload(collection, ids, ApiKey.SECRET, spread.apply(uris(writeTo)))
                .readsFrom(spread.apply(uris(readFrom)))
                .reads(reads)
                .documentBytes(documentBytes)
                .readBackWrites()
                .timeout(clientTimeout);
        for (int i = 0; i < keys * 2; i++) {
            workload.write();
            workload.read();
        }
        workload.clearFigures(); // the priming is checked, not measured
        Thread loadThread = Thread.ofPlatform().name("load").start(() -> {
            try {
                workload.run(load, writers, readers);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            Thread.sleep(faultAt.toMillis());
            fault.inject();
            Thread.sleep(faultFor.toMillis());
        } finally {
            fault.heal();
        }
        loadThread.join();
        Set<GatewayProcess> involved = new LinkedHashSet<>(writeTo);
        involved.addAll(readFrom);
        boolean applied = lab.awaitInvalidationsApplied(new ArrayList<>(involved));
        for (int i = 0; i < keys * 4; i++) {
            workload.read(); // reads after recovery are checked too
        }
        List<String> violations = workload.history.violations();
        String notes = describe.apply(workload);
        if (!violations.isEmpty()) {
            notes = (notes.isEmpty() ? "" : notes + "; ") + "first stale reads: "
                    + violations.stream().limit(3).toList();
        }
        lab.row(
                name,
                workload.requests.get(),
                workload.errors.get(),
                workload.unavailable.get(),
                workload.notVisible.get(),
                violations.size(),
                workload.p99Millis(),
                writeLatencies(workload),
                notes);
        assertTrue(
                violations.isEmpty(),
                name + ": " + violations.size() + " stale reads, first "
                        + violations.stream().limit(5).toList());
        assertTrue(applied, name + ": pending invalidations applied within 30 s after the fault");
        assertTrue(workload.p99Millis() < P99_BOUND_MILLIS, name + ": p99 " + workload.p99Millis() + " ms");
        lab.assertNoAcknowledgedWriteLost(collection, workload.history);
        return workload;
    }

    Workload run(Fault fault) throws Exception {
        return run(fault, lab.gateways);
    }

    static String writeLatencies(Workload workload) {
        return String.format(
                "%d: %.0f / %.0f",
                workload.acknowledgedWrites.count(),
                workload.acknowledgedWrites.percentileMillis(50),
                workload.acknowledgedWrites.percentileMillis(99));
    }

    private static List<java.net.URI> uris(List<GatewayProcess> gateways) {
        return gateways.stream().map(gateway -> gateway.uri("")).toList();
    }
}
