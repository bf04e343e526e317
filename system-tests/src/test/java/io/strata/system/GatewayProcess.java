package io.strata.system;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;
import org.awaitility.core.TerminalFailureException;

import io.strata.embedded.deployment.LocalPorts;

/**
 * One packaged gateway ({@code java -jar quarkus-run.jar}) running as its own process: the API and its
 * management interface (health, metrics) each on a free port that {@link LocalPorts} hands out.
 *
 * <p>A port can still be taken between its choice and the gateway's bind (by a server another JVM
 * started at that moment); a gateway that exits because a port is in use is started again on new
 * ports, keeping the failed start's log beside the new one.
 *
 * <p>With {@code -Dstrata.gateway.release=previous} the jar is taken to be a release from before the
 * management interface existed: health and metrics are read on the API port.
 */
final class GatewayProcess implements AutoCloseable {

    /** Whether the jar under test is the previous release (see the class comment). */
    static final boolean PREVIOUS_RELEASE = "previous".equals(System.getProperty("strata.gateway.release"));

    /** Starts on new ports after a failed bind, at most this many times. */
    private static final int BIND_ATTEMPTS = 3;

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final String name;
    private final List<String> command;
    private final Map<String, String> env;
    private final Path log;
    private int port;
    private int managementPort;
    private Process process;
    private int starts;

    GatewayProcess(String name, Path jar, Map<String, String> env, Path log) throws IOException {
        this(name, jar, List.of("-Xmx512m", "-XX:+ExitOnOutOfMemoryError"), env, log);
    }

    /** A gateway whose JVM is started with {@code jvmOptions} (memory settings of a container, for instance). */
    GatewayProcess(String name, Path jar, List<String> jvmOptions, Map<String, String> env, Path log)
            throws IOException {
        this.name = name;
        this.env = Map.copyOf(env);
        this.log = log;
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", jar.toString()));
        this.command = List.copyOf(command);
        start();
    }

    private void start() throws IOException {
        starts++;
        port = LocalPorts.free();
        managementPort = PREVIOUS_RELEASE ? port : LocalPorts.free();
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        builder.environment().put("QUARKUS_HTTP_PORT", String.valueOf(port));
        builder.environment().put("QUARKUS_MANAGEMENT_PORT", String.valueOf(managementPort));
        process = builder.start();
    }

    /**
     * Waits until the gateway reports ready; when it exited because one of its ports was taken, starts
     * it again on new ports (see the class comment).
     */
    void awaitReady(Duration timeout) throws IOException {
        while (true) {
            try {
                Awaitility.await(name + " ready")
                        .atMost(timeout)
                        .pollInterval(Duration.ofMillis(200))
                        .failFast(name + " exited", () -> !process.isAlive())
                        .ignoreExceptionsInstanceOf(IOException.class) // not listening yet
                        .until(() -> HTTP.send(
                                                HttpRequest.newBuilder(management("/q/health/ready"))
                                                        .build(),
                                                HttpResponse.BodyHandlers.discarding())
                                        .statusCode()
                                == 200);
                return;
            } catch (TerminalFailureException exited) {
                if (starts >= BIND_ATTEMPTS || !Files.readString(log).contains("Address already in use")) {
                    throw exited;
                }
                Files.move(
                        log,
                        log.resolveSibling(log.getFileName() + ".port-taken-" + starts),
                        StandardCopyOption.REPLACE_EXISTING);
                start();
            }
        }
    }

    /** Stops the process where it is (SIGSTOP), as a long GC pause or a descheduled container would. */
    void pause() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** Lets a paused process run again (SIGCONT); harmless when it runs. */
    void resume() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String signal) throws IOException, InterruptedException {
        int status = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid()))
                .start()
                .waitFor();
        if (status != 0 && process.isAlive()) {
            throw new IOException("kill -" + signal + " " + process.pid() + " exited with " + status);
        }
    }

    String name() {
        return name;
    }

    int port() {
        return port;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** A path on the management interface (health, metrics). */
    URI management(String path) {
        return URI.create("http://127.0.0.1:" + managementPort + path);
    }

    /** Where the process's output goes. */
    Path log() {
        return log;
    }

    boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** The exit status, or null while the process runs. */
    Integer exitValue() {
        return process.isAlive() ? null : process.exitValue();
    }

    /** The process's peak resident set size so far (VmHWM), in KiB. */
    long peakRssKib() throws IOException {
        return statusKib("VmHWM");
    }

    /** The process's resident set size now (VmRSS), in KiB. */
    long rssKib() throws IOException {
        return statusKib("VmRSS");
    }

    /** CPU time the process has used so far (user and system), in seconds. */
    double cpuSeconds() throws IOException {
        String stat = Files.readString(Path.of("/proc", String.valueOf(process.pid()), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // utime and stime, fields 14 and 15 of proc(5), counted in clock ticks of 1/100 s
        return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / 100.0;
    }

    private long statusKib(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(
                        line.substring(field.length() + 1).replace("kB", "").trim());
            }
        }
        throw new IOException(field + " not found for process " + process.pid());
    }

    /**
     * Sum of the samples of a Prometheus counter whose labels contain {@code labelFragment} (a counter
     * without labels matches the empty fragment).
     */
    double metric(String name, String labelFragment) throws IOException, InterruptedException {
        String text = metrics();
        double sum = 0;
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{([^}]*)\\})? ([0-9.eE+-]+)(?: .*)?$")
                .matcher(text);
        while (m.find()) {
            if ((m.group(1) == null ? "" : m.group(1)).contains(labelFragment)) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }

    /** Every metric, in Prometheus text format. */
    String metrics() throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(management("/q/metrics")).build(), HttpResponse.BodyHandlers.ofString())
                .body();
    }

    /** The number of pending invalidations this instance reports in its readiness data. */
    int pendingInvalidations() throws IOException, InterruptedException {
        String body = HTTP.send(
                        HttpRequest.newBuilder(management("/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        Matcher m =
                Pattern.compile("\"pending-invalidations\"\\s*:\\s*([0-9]+)").matcher(body);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
