package io.strata.embedded.deployment;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

class LocalPortsTest {

    /** Ports an outgoing connection can be given, between a port's choice and its server's bind. */
    private static final int[] EPHEMERAL = LocalPorts.ephemeralRange();

    @Test
    void portsAndTheirCompanionsAreNeverEphemeralNorHandedOutTwice() throws IOException {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            int port = LocalPorts.free(10000);
            assertOutsideEphemeralRange(port);
            assertOutsideEphemeralRange(port + 10000);
            assertTrue(seen.add(port) && seen.add(port + 10000), "handed out twice: " + port);
            try (ServerSocket bound = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                assertTrue(bound.isBound());
            }
        }
        for (int i = 0; i < 100; i++) {
            int port = LocalPorts.free();
            assertOutsideEphemeralRange(port);
            assertTrue(seen.add(port), "handed out twice: " + port);
        }
    }

    private static void assertOutsideEphemeralRange(int port) {
        assertTrue(
                port < EPHEMERAL[0] || port > EPHEMERAL[1],
                port + " is in the ephemeral range " + EPHEMERAL[0] + "–" + EPHEMERAL[1]);
    }
}
