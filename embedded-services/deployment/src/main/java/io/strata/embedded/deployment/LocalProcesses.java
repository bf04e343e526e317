package io.strata.embedded.deployment;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Helpers shared by the embedded services: unpacking binaries shipped in jars, and
 * starting server processes as an unprivileged user when the build runs as root (PostgreSQL refuses
 * to run as root).
 */
final class LocalProcesses {

    /** The uid/gid that servers run as when this JVM runs as root. */
    private static final String UNPRIVILEGED_ID = "65534";

    private LocalProcesses() {}

    static Path workRoot() {
        Path root = Path.of(System.getProperty("java.io.tmpdir"), "strata-embedded");
        try {
            Files.createDirectories(root);
            root.toFile().setReadable(true, false);
            root.toFile().setExecutable(true, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return root;
    }

    static boolean runningAsRoot() {
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return Integer.valueOf(0).equals(uid);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Prefixes a command so that it runs unprivileged when we are root. */
    static List<String> unprivileged(List<String> command) {
        if (!runningAsRoot()) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(
                List.of("setpriv", "--reuid=" + UNPRIVILEGED_ID, "--regid=" + UNPRIVILEGED_ID, "--clear-groups", "--"));
        wrapped.addAll(command);
        return wrapped;
    }

    static void giveToUnprivilegedUser(Path dir) {
        if (runningAsRoot()) {
            run(
                    List.of("chown", "-R", UNPRIVILEGED_ID + ":" + UNPRIVILEGED_ID, dir.toString()),
                    Duration.ofSeconds(30));
        }
    }

    /**
     * Copies a classpath resource to {@code target} once per machine (guarded by a file lock, since
     * several JVMs may start at once) and runs {@code unpack} on it.
     */
    static Path unpackOnce(String resource, Path target, Unpacker unpack) {
        Path marker = target.resolve(".complete");
        if (Files.exists(marker)) {
            return target;
        }
        Path lockFile = target.resolveSibling(target.getFileName() + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock ignored = channel.lock()) {
            if (Files.exists(marker)) {
                return target;
            }
            deleteRecursively(target);
            Files.createDirectories(target);
            Path archive = target.resolve("archive.tmp");
            try (InputStream in = Thread.currentThread().getContextClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("resource not found on the classpath: " + resource);
                }
                Files.copy(in, archive);
            }
            unpack.unpack(archive, target);
            Files.deleteIfExists(archive);
            Files.writeString(marker, resource);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    interface Unpacker {
        void unpack(Path archive, Path targetDir) throws IOException;
    }

    static void run(List<String> command, Duration timeout) {
        try {
            Process process =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("timed out: " + command);
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(
                        "command failed (" + process.exitValue() + "): " + command + "\n" + new String(output));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    static void stop(Process process, Duration grace) {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temporary directory left behind is harmless
        }
    }
}
