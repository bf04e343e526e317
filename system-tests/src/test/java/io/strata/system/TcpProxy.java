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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A loopback TCP proxy that can add latency to every byte in both directions (each chunk is
 * delivered {@code latency} after it was read, whatever the load) and cut every live connection.
 * The kernel here has no {@code tc netem}; this is the latency fault instead.
 */
final class TcpProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int targetPort;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile long latencyNanos;
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

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
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
                pump(client, upstream);
                pump(upstream, client);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private record Chunk(byte[] bytes, long deliverAt) {}

    private void pump(Socket from, Socket to) {
        LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
        Thread.ofVirtual().start(() -> {
            byte[] buffer = new byte[16384];
            try (InputStream in = from.getInputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    queue.put(new Chunk(Arrays.copyOf(buffer, n), System.nanoTime() + latencyNanos));
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
