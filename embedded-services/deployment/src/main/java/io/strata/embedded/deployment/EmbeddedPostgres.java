package io.strata.embedded.deployment;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import io.quarkus.deployment.builditem.Startable;

/**
 * A real PostgreSQL server from the zonky binaries bundle (Maven Central), started on a free
 * loopback port with a throw-away data directory. When the JVM runs as root the server runs as
 * {@code nobody}, because PostgreSQL refuses to run as root.
 */
public final class EmbeddedPostgres implements Startable {

    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    public static final String DATABASE = "postgres";
    public static final String USER = "postgres";

    private final Duration startupTimeout;
    /** Generated for each server: no fixed credential exists anywhere. */
    private final String password = java.util.HexFormat.of().formatHex(randomBytes());

    private Process process;
    private Path dataDir;
    private Path installDir;
    private int port;
    private boolean shutdownHookAdded;

    public EmbeddedPostgres(Duration startupTimeout) {
        this.startupTimeout = startupTimeout;
    }

    @Override
    public synchronized void start() {
        if (process != null) {
            return;
        }
        Path root = LocalProcesses.workRoot();
        installDir = LocalProcesses.unpackOnce(
                ARCHIVE,
                root.resolve("postgresql-" + binariesVersion()),
                (archive, target) -> LocalProcesses.run(
                        List.of("tar", "-xJf", archive.toString(), "-C", target.toString()), Duration.ofMinutes(2)));
        dataDir = root.resolve("pg-" + UUID.randomUUID());
        try {
            Files.createDirectories(dataDir);
            Path pwFile = dataDir.resolveSibling(dataDir.getFileName() + ".pw");
            Files.writeString(pwFile, password);
            LocalProcesses.giveToUnprivilegedUser(dataDir);
            LocalProcesses.giveToUnprivilegedUser(pwFile);
            LocalProcesses.run(
                    LocalProcesses.unprivileged(List.of(
                            bin("initdb"),
                            "-D",
                            dataDir.toString(),
                            "-U",
                            USER,
                            "--pwfile=" + pwFile,
                            "-A",
                            "scram-sha-256",
                            "-E",
                            "UTF8",
                            "--no-locale",
                            "--no-sync")),
                    Duration.ofMinutes(2));
            Files.deleteIfExists(pwFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        port = LocalPorts.free();
        startServer();
    }

    /** Starts the server on the existing data directory and port (after {@link #stopServer()}). */
    public synchronized void startServer() {
        Path log = dataDir.resolve("server.log");
        try {
            Files.deleteIfExists(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> command = new ArrayList<>(List.of(
                bin("postgres"),
                "-D",
                dataDir.toString(),
                "-p",
                String.valueOf(port),
                "-h",
                "127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                "-c",
                "logging_collector=off"));
        try {
            process = new ProcessBuilder(LocalProcesses.unprivileged(command))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!shutdownHookAdded) {
            shutdownHookAdded = true;
            Runtime.getRuntime().addShutdownHook(new Thread(this::close, "strata-embedded-postgres-stop"));
        }
        LocalProcesses.await("PostgreSQL on port " + port, startupTimeout, () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("PostgreSQL exited: " + readQuietly(log));
            }
            return readQuietly(log).contains("ready to accept connections");
        });
    }

    /** Identifies the binaries bundle by where it comes from (its jar), so another version unpacks anew. */
    private static String binariesVersion() {
        java.net.URL archive = Thread.currentThread().getContextClassLoader().getResource(ARCHIVE);
        return archive == null
                ? "unknown"
                : Integer.toHexString(archive.toString().hashCode());
    }

    private String bin(String name) {
        return installDir.resolve("bin").resolve(name).toString();
    }

    private static String readQuietly(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[18];
        new java.security.SecureRandom().nextBytes(bytes);
        return bytes;
    }

    public String password() {
        return password;
    }

    public int port() {
        return port;
    }

    public String reactiveUrl() {
        return "postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    /** Stops the server (fast shutdown, like {@code pg_ctl stop -m fast}) and keeps the data. */
    public synchronized void stopServer() {
        if (process != null && process.isAlive()) {
            try {
                new ProcessBuilder("kill", "-INT", String.valueOf(process.pid()))
                        .start()
                        .waitFor();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            LocalProcesses.stop(process, Duration.ofSeconds(20));
        }
    }

    @Override
    public String getConnectionInfo() {
        return reactiveUrl();
    }

    @Override
    public String getContainerId() {
        return null;
    }

    @Override
    public synchronized void close() {
        stopServer();
        process = null;
        if (dataDir != null) {
            LocalProcesses.deleteRecursively(dataDir);
            dataDir = null;
        }
    }
}
