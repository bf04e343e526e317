package io.strata.embedded.deployment;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free local ports for the servers that the embedded services and the tests start: PostgreSQL, the
 * Redis nodes (with their cluster bus at {@code port + 10000}) and packaged gateways (API and management).
 *
 * <p>A port is only known free when it is checked; the server binds it later. Two things can take it
 * in between, and this class keeps both away:
 * <ul>
 *   <li>an outgoing connection of any process on the machine, which the kernel gives a port from its
 *       ephemeral range ({@code /proc/sys/net/ipv4/ip_local_port_range}, 32768–60999 by default) — a
 *       gateway starting up opens dozens of them to Redis and PostgreSQL just before it binds its own
 *       ports. Ports are taken below that range, so no outgoing connection can hold one;
 *   <li>another server of this JVM, handed the same port before either bound it. No port (nor its
 *       companion) is handed out twice by one JVM.
 * </ul>
 * Another JVM choosing the same port at the same moment stays possible; the random choice makes it
 * rare, and a process that fails to bind is restarted on new ports by its owner.
 */
public final class LocalPorts {

    /** The lowest port handed out: above the well-known and most registered service ports. */
    private static final int LOWEST = 12000;

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private LocalPorts() {}

    /** A port that is free now and has not been handed out by this JVM. */
    public static int free() {
        return free(0);
    }

    /**
     * A port that is free now, whose companion {@code port + companionOffset} is free too (Redis
     * Cluster's bus port, for instance); neither has been handed out by this JVM. Both are reserved.
     */
    public static int free(int companionOffset) {
        int[] range = range(companionOffset);
        for (int attempt = 0; attempt < 500; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(range[0], range[1]);
            int companion = port + companionOffset;
            if (!HANDED_OUT.add(port)) {
                continue;
            }
            if (companionOffset != 0 && !HANDED_OUT.add(companion)) {
                HANDED_OUT.remove(port);
                continue;
            }
            if (isFree(port) && (companionOffset == 0 || isFree(companion))) {
                return port;
            }
            // someone else's: leave it reserved, so that it is not checked again
        }
        throw new IllegalStateException("no free local port in " + range[0] + "–" + range[1]);
    }

    /**
     * Where to look, {@code [low, high)}: below the ephemeral range when there is room for the port and
     * its companion there, else above it, else anywhere (a machine that gives every port to outgoing
     * connections).
     */
    static int[] range(int companionOffset) {
        int[] ephemeral = ephemeralRange();
        int belowHigh = ephemeral[0] - companionOffset;
        if (belowHigh - LOWEST >= 1000) {
            return new int[] {LOWEST, belowHigh};
        }
        int aboveLow = ephemeral[1] + 1;
        int aboveHigh = 65536 - companionOffset;
        if (aboveHigh - aboveLow >= 1000) {
            return new int[] {aboveLow, aboveHigh};
        }
        return new int[] {LOWEST, aboveHigh};
    }

    /** The kernel's ephemeral port range, inclusive; Linux's default where it cannot be read. */
    static int[] ephemeralRange() {
        try {
            String[] bounds = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                    .trim()
                    .split("\\s+");
            return new int[] {Integer.parseInt(bounds[0]), Integer.parseInt(bounds[1])};
        } catch (IOException | RuntimeException unreadable) {
            return new int[] {32768, 60999};
        }
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
