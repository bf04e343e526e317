package io.strata.gateway;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * HTTP/1.1 over plain sockets, one kept-alive connection per calling thread. HTTP clients normalise
 * request targets (dot segments, escapes) before sending them; this one sends the target byte for
 * byte, so that the server sees exactly the spelling under test.
 */
final class RawHttp implements AutoCloseable {

    record Request(String method, String target, Map<String, String> headers, byte[] body) {}

    /** What came back; {@code status} 0 when nothing did. */
    record Answer(int status, Map<String, String> headers, byte[] body) {

        String contentType() {
            return headers.getOrDefault("content-type", "");
        }

        boolean isProblem() {
            return contentType().startsWith("application/problem+json");
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final String host;
    private final int port;
    private final ThreadLocal<Connection> connections = new ThreadLocal<>();
    private final Queue<Connection> opened = new ConcurrentLinkedQueue<>();

    RawHttp(String host, int port) {
        this.host = host;
        this.port = port;
    }

    Answer send(Request request) {
        // a kept-alive connection may have been closed by the server after its last answer: one more try on a new one
        for (int attempt = 0; ; attempt++) {
            Connection connection = connection();
            try {
                return connection.exchange(request);
            } catch (IOException e) {
                connection.close();
                connections.remove();
                if (attempt > 0 || !connection.reused) {
                    return new Answer(0, Map.of(), e.toString().getBytes(StandardCharsets.UTF_8));
                }
            }
        }
    }

    private Connection connection() {
        Connection connection = connections.get();
        if (connection == null || connection.closed) {
            try {
                connection = new Connection(new Socket(host, port));
            } catch (IOException e) {
                throw new IllegalStateException("cannot connect to " + host + ":" + port, e);
            }
            connections.set(connection);
            opened.add(connection);
        }
        return connection;
    }

    @Override
    public void close() {
        opened.forEach(Connection::close);
    }

    private final class Connection {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private boolean reused;
        private boolean closed;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(30_000);
            socket.setTcpNoDelay(true);
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        Answer exchange(Request request) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            StringBuilder lines = new StringBuilder();
            lines.append(request.method()).append(' ').append(request.target()).append(" HTTP/1.1\r\n");
            lines.append("Host: ").append(host).append(':').append(port).append("\r\n");
            request.headers()
                    .forEach((name, value) ->
                            lines.append(name).append(": ").append(value).append("\r\n"));
            if (request.body() != null) {
                lines.append("Content-Length: ").append(request.body().length).append("\r\n");
            }
            lines.append("\r\n");
            head.writeBytes(lines.toString().getBytes(StandardCharsets.ISO_8859_1));
            if (request.body() != null) {
                head.writeBytes(request.body());
            }
            out.write(head.toByteArray());
            out.flush();
            Answer answer = read(request.method().equals("HEAD"));
            reused = true;
            if ("close".equalsIgnoreCase(answer.headers().get("connection"))) {
                close();
            }
            return answer;
        }

        private Answer read(boolean head) throws IOException {
            String statusLine = line();
            if (statusLine == null || !statusLine.startsWith("HTTP/1.1 ")) {
                throw new EOFException("no status line: " + statusLine);
            }
            int status = Integer.parseInt(statusLine.substring(9, 12));
            Map<String, String> headers = new HashMap<>();
            for (String line = line(); line != null && !line.isEmpty(); line = line()) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    headers.put(
                            line.substring(0, colon).trim().toLowerCase(),
                            line.substring(colon + 1).trim());
                }
            }
            byte[] body;
            if (head || status == 204 || status == 304 || status < 200) {
                body = new byte[0];
            } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                body = chunked();
            } else if (headers.containsKey("content-length")) {
                body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
            } else {
                body = in.readAllBytes();
                closed = true;
            }
            return new Answer(status, headers, body);
        }

        private byte[] chunked() throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (; ; ) {
                String size = line();
                if (size == null) {
                    throw new EOFException("chunked body cut short");
                }
                int length = Integer.parseInt(size.split(";")[0].trim(), 16);
                if (length == 0) {
                    for (String trailer = line(); trailer != null && !trailer.isEmpty(); trailer = line()) {
                        // trailers carry nothing the checks use
                    }
                    return body.toByteArray();
                }
                body.writeBytes(in.readNBytes(length));
                line();
            }
        }

        private String line() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (int b = in.read(); b >= 0; b = in.read()) {
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
                }
                line.write(b);
            }
            return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
        }

        void close() {
            closed = true;
            try {
                socket.close();
            } catch (IOException e) {
                // already gone
            }
        }
    }
}
