package io.strata.system;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Administrative commands sent straight to one Redis node (not through its proxy): what an operator
 * would type into {@code redis-cli}. A minimal blocking RESP2 client.
 */
final class RedisAdmin {

    private RedisAdmin() {}

    /** Sends one command to the node on {@code port}: a String, Long, List or null; an error reply throws. */
    static Object call(int port, String... args) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            StringBuilder command =
                    new StringBuilder().append('*').append(args.length).append("\r\n");
            for (String arg : args) {
                command.append('$')
                        .append(arg.getBytes(StandardCharsets.UTF_8).length)
                        .append("\r\n")
                        .append(arg)
                        .append("\r\n");
            }
            out.write(command.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            return read(new BufferedInputStream(socket.getInputStream()));
        } catch (IOException e) {
            throw new UncheckedIOException("Redis on port " + port, e);
        }
    }

    /** One section of {@code INFO} as fields. */
    static Map<String, String> info(int port, String section) {
        Map<String, String> fields = new HashMap<>();
        for (String line : ((String) call(port, "INFO", section)).split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(line.substring(0, colon), line.substring(colon + 1));
            }
        }
        return fields;
    }

    /** {@code CLIENT LIST TYPE type}: one map of fields per client ({@code id}, {@code addr}, {@code cmd}…). */
    static List<Map<String, String>> clients(int port, String type) {
        List<Map<String, String>> clients = new ArrayList<>();
        for (String line : ((String) call(port, "CLIENT", "LIST", "TYPE", type)).split("\n")) {
            Map<String, String> fields = new HashMap<>();
            for (String field : line.trim().split(" ")) {
                int equals = field.indexOf('=');
                if (equals > 0) {
                    fields.put(field.substring(0, equals), field.substring(equals + 1));
                }
            }
            if (!fields.isEmpty()) {
                clients.add(fields);
            }
        }
        return clients;
    }

    /** The port of a client's {@code addr} field ({@code 127.0.0.1:54321}). */
    static int clientPort(Map<String, String> client) {
        String addr = client.get("addr");
        return Integer.parseInt(addr.substring(addr.lastIndexOf(':') + 1));
    }

    private static Object read(InputStream in) throws IOException {
        int type = in.read();
        String line = readLine(in);
        switch (type) {
            case '+':
                return line;
            case '-':
                throw new IllegalStateException("Redis error: " + line);
            case ':':
                return Long.parseLong(line);
            case '$': {
                int length = Integer.parseInt(line);
                if (length < 0) {
                    return null;
                }
                byte[] data = in.readNBytes(length);
                readLine(in);
                return new String(data, StandardCharsets.UTF_8);
            }
            case '*': {
                int count = Integer.parseInt(line);
                if (count < 0) {
                    return null;
                }
                List<Object> items = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    items.add(read(in));
                }
                return items;
            }
            default:
                throw new IOException("unexpected RESP type " + type);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != '\r') {
            if (c == -1) {
                throw new IOException("connection closed");
            }
            line.append((char) c);
        }
        in.read();
        return line.toString();
    }
}
