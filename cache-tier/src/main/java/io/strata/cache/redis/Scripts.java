package io.strata.cache.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;

import io.strata.storage.Document;
import io.strata.storage.Lookup;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * The Lua scripts of the cache protocol, each with typed arguments and a typed outcome. Each touches
 * the keys of one document only, which share a hash slot (see {@link CacheKeys}). They are sent as
 * {@code EVALSHA}; a node that does not know a script answers {@code NOSCRIPT} and gets it once with
 * {@code EVAL}, which also caches it there ({@link RedisNodes} does that). The document scripts stay
 * together in this one class, longer than most, so that a reviewer reads the whole protocol's Redis
 * side in one place (the lease registry's are in {@link LeaseScripts}).
 *
 * <h2>Who may create an entry</h2>
 * Only a fill whose token is still there ({@link #fill}): the token was taken before the fill read
 * storage, and every write removes it, so a token that survived means no write reached Redis since
 * that read. A write-through ({@link #write}) replaces an entry that is older than its version and
 * otherwise leaves Redis as it is; it never creates one. So a write-through that arrives late, after
 * a newer write's and after the entry was removed or evicted, cannot bring an older version back, and
 * no marker of the newest version (which eviction could remove) is needed.
 */
public final class Scripts {

    private Scripts() {
    }

    /** How long a stored entry is fresh (epoch ms) and how long its key lives (ms, freshness plus the stale window). */
    public record Freshness(long freshUntil, long keyTtlMillis) {
    }

    /** A near-cache invalidation to publish with a change ({@code channel} empty: none). */
    public record Announcement(String channel, String message) {
        public static final Announcement NONE = new Announcement("", "");
    }

    /** One call: the key that routes it to its master, the request (with or without script source) and how its reply is read. */
    public record Call<T>(String routingKey, Function<Boolean, Request> builder, Function<Response, T> outcome) {

        /** {@code EVALSHA}, or {@code EVAL} with the source for a node that lacks the script. */
        public Request request(boolean withSource) {
            return builder.apply(withSource);
        }
    }

    /** A plain command as a call. */
    public static <T> Call<T> command(String routingKey, Request request, Function<Response, T> outcome) {
        return new Call<>(routingKey, withSource -> request, outcome);
    }

    static <T> Call<T> call(String routingKey, Script script, List<String> keys, List<Object> args,
            Function<Response, T> outcome) {
        return new Call<>(routingKey, withSource -> {
            Request request = Request.cmd(withSource ? Command.EVAL : Command.EVALSHA)
                    .arg(withSource ? script.source : script.sha).arg(keys.size());
            keys.forEach(request::arg);
            for (Object arg : args) {
                if (arg instanceof byte[] bytes) {
                    request.arg(Buffer.buffer(bytes));
                } else if (arg instanceof Long number) {
                    request.arg(number);
                } else {
                    request.arg(String.valueOf(arg));
                }
            }
            return request;
        }, outcome);
    }

    // ---------------------------------------------------------------- fill lease

    /** What a miss found when it asked for the fill lease. */
    public sealed interface LeaseOutcome {
        /** The document was filled meanwhile: here it is. */
        record Fresh(Entry entry) implements LeaseOutcome {
        }

        /** The lease is this reader's: it reads storage and fills. */
        record Taken() implements LeaseOutcome {
        }

        /** Another reader holds the lease. */
        record Held() implements LeaseOutcome {
        }
    }

    private static final Script LEASE = new Script("""
            local entry = redis.call('HMGET', KEYS[1], 'v', 'f', 'b')
            if entry[1] and tonumber(entry[2]) >= tonumber(ARGV[3]) then
              return {2, entry[1], entry[2], entry[3]}
            end
            if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
              return {1}
            end
            return {0}
            """);

    /**
     * A miss takes the fill lease (the token, {@code SET NX}) unless a fresh entry is there now, in one
     * step, so that a reader that missed just before another's fill landed takes that fill.
     */
    public static Call<LeaseOutcome> lease(CacheKeys.Document document, String collection, String id, String token,
            long leaseMillis, long nowMillis) {
        return call(document.entry(), LEASE, List.of(document.entry(), document.token()),
                List.of(token, leaseMillis, nowMillis), reply -> switch (reply.get(0).toInteger()) {
                    case 2 -> {
                        long version = Long.parseLong(reply.get(1).toString());
                        long fresh = Long.parseLong(reply.get(2).toString());
                        Response body = reply.size() > 3 ? reply.get(3) : null;
                        Lookup lookup = body == null ? Lookup.absent(collection, id, version)
                                : new Lookup.Found(new Document(collection, id, version, body.toBytes()));
                        yield new LeaseOutcome.Fresh(new Entry(lookup, fresh));
                    }
                    case 1 -> new LeaseOutcome.Taken();
                    default -> new LeaseOutcome.Held();
                });
    }

    private static final Script RELEASE = new Script("""
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              return redis.call('DEL', KEYS[1])
            end
            return 0
            """);

    /** Gives a fill lease back (its holder could not read storage, or read a body it cannot hold). */
    public static Call<Boolean> release(String tokenKey, String token) {
        return call(tokenKey, RELEASE, List.of(tokenKey), List.of(token), reply -> reply.toInteger() == 1);
    }

    // ---------------------------------------------------------------- fill

    public enum FillOutcome {
        STORED,
        /** The token is gone: a write (or another reader) came first; what was read may be old. */
        TOKEN_GONE,
        /** A newer version is cached. */
        NEWER_CACHED
    }

    private static final String STORE = """
            local function store(entry, version, fresh, ttl, body)
              redis.call('DEL', entry)
              if body then
                redis.call('HSET', entry, 'v', version, 'f', fresh, 'b', body)
              else
                redis.call('HSET', entry, 'v', version, 'f', fresh)
              end
              redis.call('PEXPIRE', entry, ttl)
            end
            """;

    private static final Script FILL = new Script(STORE + """
            if redis.call('GET', KEYS[2]) ~= ARGV[1] then
              return 0
            end
            redis.call('DEL', KEYS[2])
            local current = redis.call('HGET', KEYS[1], 'v')
            if current and tonumber(current) > tonumber(ARGV[2]) then
              return -1
            end
            store(KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
            return 1
            """);

    /** Stores what a token holder read from storage, if its token is still there and nothing newer is cached. */
    public static Call<FillOutcome> fill(CacheKeys.Document document, String token, Lookup lookup, Freshness freshness) {
        List<Object> args = new ArrayList<>(List.of(token, lookup.version(), freshness.freshUntil(), freshness.keyTtlMillis()));
        if (lookup instanceof Lookup.Found found) {
            args.add(found.document().body());
        }
        return call(document.entry(), FILL, List.of(document.entry(), document.token()), args,
                reply -> switch (reply.toInteger()) {
                    case 1 -> FillOutcome.STORED;
                    case -1 -> FillOutcome.NEWER_CACHED;
                    default -> FillOutcome.TOKEN_GONE;
                });
    }

    // ---------------------------------------------------------------- writes

    public enum WriteOutcome {
        /** The cached entry now holds the written version. */
        UPDATED,
        /** Nothing was cached: nothing to update (the next read fills). */
        NOT_CACHED,
        /** A newer version is cached. */
        NEWER_CACHED
    }

    private static final String ANNOUNCE = """
            local function announce(channel, message)
              if channel ~= '' then
                redis.call('PUBLISH', channel, message)
              end
            end
            """;

    private static final Script WRITE = new Script(STORE + ANNOUNCE + """
            redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
            announce(ARGV[4], ARGV[5])
            local current = redis.call('HGET', KEYS[1], 'v')
            if not current then
              return 0
            end
            if tonumber(current) > tonumber(ARGV[1]) then
              return -1
            end
            store(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[6])
            return 1
            """);

    /**
     * The write-through after a storage commit: removes the fill token (so that no fill that read
     * storage before the commit can land) and the neighbouring formats' keys, announces the change to
     * near caches, and brings a cached entry up to the written version ({@code body == null}: a negative
     * entry, for a deletion). Never creates an entry (see the class comment).
     */
    public static Call<WriteOutcome> write(CacheKeys.Document document, long version, byte[] body, Freshness freshness,
            Announcement announcement) {
        List<Object> args = new ArrayList<>(List.of(version, freshness.freshUntil(), freshness.keyTtlMillis(),
                announcement.channel(), announcement.message()));
        if (body != null) {
            args.add(body);
        }
        return call(document.entry(), WRITE, document.all(), args, reply -> switch (reply.toInteger()) {
            case 1 -> WriteOutcome.UPDATED;
            case -1 -> WriteOutcome.NEWER_CACHED;
            default -> WriteOutcome.NOT_CACHED;
        });
    }

    private static final Script INVALIDATE = new Script(ANNOUNCE + """
            redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
            announce(ARGV[1], ARGV[2])
            return 1
            """);

    /** Removes a document's entry and fill token (all formats'), and announces it: the next read fills from storage. */
    public static Call<Void> invalidate(CacheKeys.Document document, Announcement announcement) {
        return call(document.entry(), INVALIDATE, document.all(), List.of(announcement.channel(), announcement.message()),
                reply -> null);
    }

    // ---------------------------------------------------------------- batch reads

    /** What a batch read learns of one entry without pulling a large body: {@code body == null} when not pulled. */
    public record Peek(long version, long length, byte[] body) {
        public boolean negative() {
            return length == 0;
        }
    }

    private static final Script PEEK = new Script("""
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

    /** An entry's version and body length, and its body when at most {@code inlineLimit} bytes; {@code null}: a miss. */
    public static Call<Peek> peek(String entryKey, long inlineLimit) {
        return call(entryKey, PEEK, List.of(entryKey), List.of(inlineLimit), reply -> {
            if (reply == null || reply.size() == 0) {
                return null;
            }
            long version = Long.parseLong(reply.get(0).toString());
            long length = reply.get(1).toLong();
            return new Peek(version, length, reply.size() > 2 ? reply.get(2).toBytes() : null);
        });
    }

    // ---------------------------------------------------------------- rate limits

    private static final Script TAKE = new Script("""
            local count = redis.call('INCRBY', KEYS[1], ARGV[1])
            if count == tonumber(ARGV[1]) then
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
            end
            return count
            """);

    /** Takes {@code share} from a quota counter that lives {@code lifetimeMillis}; answers the count after taking it. */
    public static Call<Long> take(String counterKey, long share, long lifetimeMillis) {
        return call(counterKey, TAKE, List.of(counterKey), List.of(share, lifetimeMillis), Response::toLong);
    }

    // ---------------------------------------------------------------- the script itself

    /** A script's source and SHA-1. */
    public static final class Script {
        final String source;
        final String sha;

        Script(String source) {
            this.source = source;
            this.sha = sha1(source);
        }

        static boolean isNoScript(Throwable failure) {
            return failure.getMessage() != null && failure.getMessage().contains("NOSCRIPT");
        }

        private static String sha1(String source) {
            try {
                return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
