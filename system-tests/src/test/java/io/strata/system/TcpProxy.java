package io.strata.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A loopback TCP proxy that can add latency to every byte in both directions (each chunk is
 * delivered {@code latency} after it was read, whatever the load), cut every live connection, refuse
 * new ones, and hold or delay the traffic of one connection or of every connection one process opens.
 * The kernel here has no {@code tc netem}; this is the network fault instead.
 *
 * <p>The target sees each connection coming from the proxy's own socket: {@link #hold(int)} and
 * {@link #clientPort(int)} take that socket's local port (the port in the target's {@code CLIENT LIST}).
 */
final class TcpProxy implements AutoCloseable {

    /** One proxied connection and what is done to its traffic. */
    private static final class Link {
        final Socket client;
        final Socket upstream;
        volatile boolean held;
        volatile long delayNanos;

        Link(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }
    }

    /** What is done to the connections of one process: held (a partition), or delayed. */
    private record Affected(long pid, long delayNanos) {
        boolean holds() {
            return delayNanos < 0;
        }
    }

    private final ServerSocket server;
    private final int targetPort;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    /** Live connections by the local port of their socket to the target. */
    private final Map<Integer, Link> links = new ConcurrentHashMap<>();

    private volatile long latencyNanos;
    private volatile boolean refusing;
    private volatile Affected affected;
    private volatile boolean closed;

    TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 256, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("proxy-accept-" + targetPort).start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    void latency(Duration latency) {
        this.latencyNanos = latency.toNanos();
    }

    /** Closes every connection now open through this proxy (new ones are accepted). */
    void cutAll() {
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
    }

    /** While refusing, every connection is cut and new ones are closed as soon as they are accepted. */
    void refuse(boolean refuse) {
        this.refusing = refuse;
        if (refuse) {
            cutAll();
        }
    }

    /**
     * Holds the traffic of the connection whose socket to the target has local port {@code upstreamPort}:
     * nothing more is delivered either way until it is cut (what was held is then lost).
     */
    void hold(int upstreamPort) {
        Link link = links.get(upstreamPort);
        if (link == null) {
            throw new IllegalArgumentException("no connection through this proxy from port " + upstreamPort);
        }
        link.held = true;
    }

    /**
     * Holds (a null {@code delay}) or delays the traffic of every connection {@code pid} has or opens
     * through this proxy, as if that process alone were partitioned from the target or far from it.
     *
     * @param owners the owning process of every connection, by its local port ({@link Sockets#owners()})
     */
    void affect(long pid, Duration delay, Map<Integer, Long> owners) {
        affected = new Affected(pid, delay == null ? -1 : delay.toNanos());
        links.values().forEach(link -> {
            if (owners.getOrDefault(link.client.getPort(), -1L) == pid) {
                apply(link);
            }
        });
    }

    /** Ends {@link #affect}: held connections are cut (what they held is lost), delayed ones go on undelayed. */
    void unaffect() {
        affected = null;
        links.values().forEach(link -> link.delayNanos = 0);
        cutHeld();
    }

    private void apply(Link link) {
        Affected now = affected;
        if (now != null) {
            link.held = now.holds();
            link.delayNanos = Math.max(0, now.delayNanos());
        }
    }

    /** Cuts every held connection, dropping what it held. */
    void cutHeld() {
        links.values().stream().filter(link -> link.held).forEach(link -> {
            closeQuietly(link.client);
            closeQuietly(link.upstream);
        });
    }

    /** The client's port of the connection whose socket to the target has local port {@code upstreamPort}, or -1. */
    int clientPort(int upstreamPort) {
        Link link = links.get(upstreamPort);
        return link == null ? -1 : link.client.getPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (refusing) {
                    closeQuietly(client);
                    continue;
                }
                client.setTcpNoDelay(true);
                Socket upstream = new Socket();
                try {
                    upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 1000);
                    upstream.setTcpNoDelay(true);
                } catch (IOException e) {
                    closeQuietly(client);
                    closeQuietly(upstream);
                    continue;
                }
                sockets.add(client);
                sockets.add(upstream);
                Link link = new Link(client, upstream);
                Affected now = affected;
                if (now != null && ownedBy(client, now.pid())) {
                    apply(link);
                }
                int upstreamPort = upstream.getLocalPort();
                links.put(upstreamPort, link);
                pump(client, upstream, link, upstreamPort);
                pump(upstream, client, link, upstreamPort);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private static boolean ownedBy(Socket client, long pid) {
        try {
            return Sockets.ownerOf(client.getPort()) == pid;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private record Chunk(byte[] bytes, long deliverAt) {}

    private void pump(Socket from, Socket to, Link link, int upstreamPort) {
        LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
        Thread.ofVirtual().start(() -> {
            byte[] buffer = new byte[16384];
            try (InputStream in = from.getInputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    queue.put(new Chunk(Arrays.copyOf(buffer, n), System.nanoTime() + latencyNanos + link.delayNanos));
                }
            } catch (IOException | InterruptedException e) {
                // connection closed or cut
            } finally {
                queue.add(new Chunk(null, 0));
            }
        });
        Thread.ofVirtual().start(() -> {
            try (OutputStream out = to.getOutputStream()) {
                while (true) {
                    Chunk chunk = queue.take();
                    if (chunk.bytes() == null) {
                        break;
                    }
                    long wait = chunk.deliverAt() - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    while (link.held && !to.isClosed()) {
                        TimeUnit.MILLISECONDS.sleep(5);
                    }
                    out.write(chunk.bytes());
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // connection closed or cut
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                sockets.remove(from);
                sockets.remove(to);
                links.remove(upstreamPort, link);
            }
        });
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing
        }
        cutAll();
    }
}
