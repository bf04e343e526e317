package io.strata.cache;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * The Lua scripts of the cache protocol (see {@link DocumentCache}). Each touches the keys of one
 * document only, which share a hash slot. They are sent as {@code EVALSHA}; a node that does not
 * know a script yet answers {@code NOSCRIPT} and gets it once with {@code EVAL}, which also caches
 * it there.
 */
final class Scripts {

    /**
     * Stores a version (with its body, if any: none is a negative entry) unless the entry holds a
     * newer version. {@code fresh} is the epoch millisecond until which the entry is fresh; the key
     * lives {@code ttl} ms, which includes the stale window.
     */
    private static final String STORE_IF_NOT_OLDER = """
            local function store(entry, version, fresh, ttl, body)
              local current = redis.call('HGET', entry, 'v')
              if current and tonumber(current) > tonumber(version) then
                return -1
              end
              redis.call('DEL', entry)
              if body then
                redis.call('HSET', entry, 'v', version, 'f', fresh, 'b', body)
              else
                redis.call('HSET', entry, 'v', version, 'f', fresh)
              end
              redis.call('PEXPIRE', entry, ttl)
              return 1
            end
            """;

    /** Tells every instance's near cache that the document changed (ARGV channel '' when no instance keeps one). */
    private static final String ANNOUNCE = """
            local function announce(channel, message)
              if channel ~= '' then
                redis.call('PUBLISH', channel, message)
              end
            end
            """;

    /** Raises the document's version floor (KEYS[3]) to {@code version}; false when the floor is newer. */
    private static final String RAISE_FLOOR = """
            local function raise_floor(floor, version, ttl)
              local current = redis.call('GET', floor)
              if current and tonumber(current) > tonumber(version) then
                return false
              end
              redis.call('SET', floor, version, 'PX', ttl)
              return true
            end
            """;

    /**
     * Fill after a miss. KEYS: entry, fill token, floor. ARGV: token, version, fresh-until ms, ttl ms,
     * [body]. Returns 1 stored, 0 token gone (a write or another reader came first), -1 a newer
     * version is cached or was announced.
     */
    static final Scripts.Script FILL = new Script(STORE_IF_NOT_OLDER + """
            if redis.call('GET', KEYS[2]) ~= ARGV[1] then
              return 0
            end
            redis.call('DEL', KEYS[2])
            local floor = redis.call('GET', KEYS[3])
            if floor and tonumber(floor) > tonumber(ARGV[2]) then
              return -1
            end
            return store(KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
            """);

    /**
     * Write-through after a storage commit. KEYS: entry, fill token, floor. ARGV: version, fresh-until
     * ms, ttl ms, floor ttl ms, near-cache channel, message, [body] (no body: a tombstone). Removing the
     * fill token first is what stops a fill that read storage before this write from landing
     * afterwards; the floor stops an older write-through that arrives after this one from landing even
     * if the entry is gone by then. Returns 1 stored, -1 a newer version is cached or was announced.
     */
    static final Scripts.Script WRITE = new Script(STORE_IF_NOT_OLDER + RAISE_FLOOR + ANNOUNCE + """
            redis.call('DEL', KEYS[2])
            announce(ARGV[5], ARGV[6])
            if not raise_floor(KEYS[3], ARGV[1], ARGV[4]) then
              return -1
            end
            return store(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[7])
            """);

    /**
     * Invalidation after a failed write-through. KEYS: entry, fill token, floor. ARGV: the version of
     * the write (0 when unknown), floor ttl ms, near-cache channel, message. Deletes the entry and the
     * token and keeps the floor.
     */
    static final Scripts.Script INVALIDATE = new Script(RAISE_FLOOR + ANNOUNCE + """
            redis.call('DEL', KEYS[1], KEYS[2])
            announce(ARGV[3], ARGV[4])
            if tonumber(ARGV[1]) > 0 then
              raise_floor(KEYS[3], ARGV[1], ARGV[2])
            end
            return 1
            """);

    /**
     * A miss takes the fill lease, unless the document was filled meanwhile. KEYS: entry, fill token.
     * ARGV: token, lease ms, now (epoch ms). Returns {2, version, fresh-until, body or nil} when a
     * fresh entry is there, {1} when the lease was taken, {0} when another reader holds it.
     */
    static final Scripts.Script LEASE = new Script("""
            local entry = redis.call('HMGET', KEYS[1], 'v', 'f', 'b')
            if entry[1] and tonumber(entry[2]) >= tonumber(ARGV[3]) then
              return {2, entry[1], entry[2], entry[3]}
            end
            if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
              return {1}
            end
            return {0}
            """);

    /** Gives a fill lease back (its holder could not read storage). KEYS: fill token. ARGV: token. */
    static final Scripts.Script RELEASE = new Script("""
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              return redis.call('DEL', KEYS[1])
            end
            return 0
            """);

    /**
     * Batch read of one entry without pulling a large body. KEYS: entry. ARGV: largest body to return.
     * Returns nil (miss), {version, 0} (negative entry), {version, length} (body larger than the
     * limit) or {version, length, body}.
     */
    static final Scripts.Script PEEK = new Script("""
            local version = redis.call('HGET', KEYS[1], 'v')
            if not version then
              return false
            end
            local length = redis.call('HSTRLEN', KEYS[1], 'b')
            if length == 0 or length > tonumber(ARGV[1]) then
              return {version, length}
            end
            return {version, length, redis.call('HGET', KEYS[1], 'b')}
            """);

    private Scripts() {
    }

    /** One script with its SHA-1, run by {@code EVALSHA} with a fallback to {@code EVAL}. */
    static final class Script {
        final String source;
        final String sha;

        Script(String source) {
            this.source = source;
            this.sha = sha1(source);
        }

        Request request(List<String> keys, Object... args) {
            return build(Command.EVALSHA, sha, keys, args);
        }

        /** {@code EVALSHA}, or {@code EVAL} with the source for a node that lacks the script. */
        Request build(boolean withSource, List<String> keys, Object... args) {
            return withSource ? build(Command.EVAL, source, keys, args) : request(keys, args);
        }

        /** Runs the script through {@code send} (which sends one request to the keys' node). */
        Uni<Response> run(java.util.function.Function<Request, Uni<Response>> send, List<String> keys, Object... args) {
            return send.apply(request(keys, args)).onFailure(Script::isNoScript)
                    .recoverWithUni(() -> send.apply(build(Command.EVAL, source, keys, args)));
        }

        static boolean isNoScript(Throwable failure) {
            return failure.getMessage() != null && failure.getMessage().contains("NOSCRIPT");
        }

        private static Request build(Command command, String script, List<String> keys, Object... args) {
            Request request = Request.cmd(command).arg(script).arg(keys.size());
            for (String key : keys) {
                request.arg(key);
            }
            for (Object arg : args) {
                if (arg instanceof byte[] bytes) {
                    request.arg(io.vertx.mutiny.core.buffer.Buffer.buffer(bytes));
                } else if (arg instanceof Long number) {
                    request.arg(number);
                } else {
                    request.arg(String.valueOf(arg));
                }
            }
            return request;
        }

        private static String sha1(String source) {
            try {
                return HexFormat.of().formatHex(
                        MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
