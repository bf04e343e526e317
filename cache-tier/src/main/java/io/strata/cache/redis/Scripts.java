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
 * {@code EVAL}, which also caches it there ({@link RedisNodes} does that).
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

    private static <T> Call<T> call(String routingKey, Script script, List<String> keys, List<Object> args,
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

    // ---------------------------------------------------------------- near-cache leases

    /** The outcome of a lease renewal: renewed, or refused because this instance still owes invalidations. */
    public record Renewal(boolean renewed, long redisNowMillis, List<String> owed) {
    }

    private static final String REDIS_NOW = """
            local time = redis.call('TIME')
            local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
            """;

    private static final Script RENEW = new Script(REDIS_NOW + """
            local owed = redis.call('SMEMBERS', KEYS[2])
            if #owed > 0 then
              return {0, now, owed}
            end
            redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
            return {1, now}
            """);

    /**
     * Registers or extends this instance's near-cache lease in the registry (a sorted set scored by
     * expiry, on Redis's clock), unless it owes invalidations: then nothing is extended and the owed
     * ones are answered, so that a holder that missed an invalidation cannot keep its lease.
     */
    public static Call<Renewal> renewLease(String registry, String owedKey, String instance, long leaseMillis) {
        return call(registry, RENEW, List.of(registry, owedKey), List.of(instance, leaseMillis), reply -> {
            List<String> owed = new ArrayList<>();
            if (reply.size() > 2 && reply.get(2) != null) {
                reply.get(2).forEach(member -> owed.add(member.toString()));
            }
            return new Renewal(reply.get(0).toInteger() == 1, reply.get(1).toLong(), owed);
        });
    }

    private static final Script RELINQUISH = new Script("""
            redis.call('ZREM', KEYS[1], ARGV[1])
            redis.call('DEL', KEYS[2])
            return 1
            """);

    /** Gives this instance's lease up (it can no longer receive invalidations), with what it owed. */
    public static Call<Void> relinquishLease(String registry, String owedKey, String instance) {
        return call(registry, RELINQUISH, List.of(registry, owedKey), List.of(instance), reply -> null);
    }

    /** The lease holders a write waits for: each with its lease's expiry, on Redis's clock. */
    public record Holders(long redisNowMillis, java.util.Map<String, Long> expiries) {
    }

    private static final Script HOLDERS = new Script(REDIS_NOW + """
            local holders = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'WITHSCORES')
            for i = 1, #holders, 2 do
              if holders[i] ~= ARGV[1] then
                local owed = ARGV[3] .. holders[i]
                redis.call('SADD', owed, ARGV[2])
                redis.call('PEXPIRE', owed, 120000)
              end
            end
            return {now, holders}
            """);

    /**
     * The instances holding a valid lease now, other than {@code self}; each is recorded as owing
     * {@code owed} (an invalidation) until it answers it, so that it cannot renew its lease before.
     */
    public static Call<Holders> leaseHolders(String registry, String owedPrefix, String self, String owed) {
        return call(registry, HOLDERS, List.of(registry), List.of(self, owed, owedPrefix), reply -> {
            java.util.Map<String, Long> expiries = new java.util.HashMap<>();
            Response holders = reply.get(1);
            for (int i = 0; i + 1 < holders.size(); i += 2) {
                String holder = holders.get(i).toString();
                if (!holder.equals(self)) {
                    expiries.put(holder, (long) Double.parseDouble(holders.get(i + 1).toString()));
                }
            }
            return new Holders(reply.get(0).toLong(), expiries);
        });
    }

    private static final Script ANSWER = new Script("""
            local members = tonumber(ARGV[1])
            for i = 2, members + 1 do
              redis.call('SREM', KEYS[1], ARGV[i])
            end
            for i = members + 2, #ARGV, 2 do
              redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
            end
            return 1
            """);

    /** Marks owed invalidations answered and tells their writers ({@code messages}: channel, then message). */
    public static Call<Void> answerInvalidations(String owedKey, List<String> owed, List<String> messages) {
        List<Object> args = new ArrayList<>();
        args.add((long) owed.size());
        args.addAll(owed);
        args.addAll(messages);
        return call(owedKey, ANSWER, List.of(owedKey), args, reply -> null);
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
