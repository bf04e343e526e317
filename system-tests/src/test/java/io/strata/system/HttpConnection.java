package io.strata.system;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 keep-alive connection on a plain socket, one request (or one pipelined batch) at a
 * time. Load generators use it where their own cost must stay small and in plain sight: no client
 * threads, no pool, nothing between the measured time and the socket calls. A broken connection
 * surfaces as the {@link IOException} it caused (the next request opens a new one).
 */
final class HttpConnection implements AutoCloseable {

    /** An answer; header names in lower case. */
    record Reply(int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final int port;
    private final int timeoutMillis;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    HttpConnection(int port, Duration readTimeout) {
        this.port = port;
        this.timeoutMillis = (int) readTimeout.toMillis();
    }

    /** A request; {@code headers} as {@code "Name: value"}, {@code body} may be null. */
    record Request(String method, String target, byte[] body, String... headers) {}

    /** Sends a request and reads its answer. */
    Reply send(String method, String target, byte[] body, String... headers) throws IOException {
        return pipeline(List.of(new Request(method, target, body, headers))).get(0);
    }

    /** Sends the requests back to back, then reads their answers in order (HTTP/1.1 pipelining). */
    List<Reply> pipeline(List<Request> requests) throws IOException {
        if (socket == null) {
            connect();
        }
        try {
            for (Request request : requests) {
                write(request);
            }
            out.flush();
            List<Reply> replies = new ArrayList<>(requests.size());
            for (Request request : requests) {
                if (socket == null) {
                    throw new EOFException("connection closed by the server after " + replies.size() + " of "
                            + requests.size() + " answers");
                }
                Reply reply = read(request.method());
                replies.add(reply);
                if ("close".equalsIgnoreCase(reply.header("connection"))) {
                    close();
                }
            }
            return replies;
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private void write(Request request) throws IOException {
        StringBuilder head = new StringBuilder(256)
                .append(request.method())
                .append(' ')
                .append(request.target())
                .append(" HTTP/1.1\r\nHost: 127.0.0.1:")
                .append(port)
                .append("\r\n");
        for (String header : request.headers()) {
            head.append(header).append("\r\n");
        }
        if (request.body() != null) {
            head.append("Content-Length: ").append(request.body().length).append("\r\n");
        }
        out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
        if (request.body() != null) {
            out.write(request.body());
        }
    }

    private void connect() throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setSoTimeout(timeoutMillis);
        s.connect(new InetSocketAddress("127.0.0.1", port), timeoutMillis);
        socket = s;
        in = new BufferedInputStream(s.getInputStream(), 65536);
        out = new BufferedOutputStream(s.getOutputStream(), 65536);
    }

    private Reply read(String method) throws IOException {
        String statusLine = line();
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP answer: " + statusLine);
        }
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = new HashMap<>();
        for (String line = line(); !line.isEmpty(); line = line()) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                headers.put(
                        line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        line.substring(colon + 1).trim());
            }
        }
        byte[] body;
        if (method.equals("HEAD") || status / 100 == 1 || status == 204 || status == 304) {
            body = new byte[0];
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = chunked();
        } else if (headers.containsKey("content-length")) {
            body = exactly(Integer.parseInt(headers.get("content-length")));
        } else {
            body = in.readAllBytes();
            headers.put("connection", "close");
        }
        return new Reply(status, headers, body);
    }

    private byte[] chunked() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line();
            int semicolon = size.indexOf(';');
            int length = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
            if (length == 0) {
                while (!line().isEmpty()) {
                    // trailers
                }
                return body.toByteArray();
            }
            body.writeBytes(exactly(length));
            line();
        }
    }

    private byte[] exactly(int length) throws IOException {
        byte[] bytes = in.readNBytes(length);
        if (bytes.length < length) {
            throw new EOFException("connection closed after " + bytes.length + " of " + length + " body bytes");
        }
        return bytes;
    }

    private String line() throws IOException {
        StringBuilder line = new StringBuilder(64);
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection closed by the server");
            }
            if (b == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            if (line.length() > 65536) {
                throw new IOException("header line too long");
            }
            line.append((char) b);
        }
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            socket = null;
        }
    }
}
