package io.strata.system;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Which local process holds a loopback TCP connection, as {@code ss -p} tells. */
final class Sockets {

    /** {@code 0 0 127.0.0.1:41234 127.0.0.1:6379 users:(("java",pid=123,fd=45))}: the local port and the pid. */
    private static final Pattern LINE =
            Pattern.compile("\\S+:([0-9]+)\\s+\\S+:[0-9]+\\s+users:\\(\\(\"[^\"]*\",pid=([0-9]+)");

    private Sockets() {}

    /** The process whose established connection has local port {@code port}, or -1. */
    static long ownerOf(int port) throws IOException, InterruptedException {
        return owners(List.of("( sport = :" + port + " )")).getOrDefault(port, -1L);
    }

    /** The owning process of every established connection, by its local port. */
    static Map<Integer, Long> owners() throws IOException, InterruptedException {
        return owners(List.of());
    }

    private static Map<Integer, Long> owners(List<String> filter) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("ss", "-tnpH", "state", "established"));
        command.addAll(filter);
        Process ss = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ss.waitFor();
        Map<Integer, Long> owners = new HashMap<>();
        Matcher m = LINE.matcher(out);
        while (m.find()) {
            owners.put(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)));
        }
        return owners;
    }
}
