package io.strata.cache.redis;

import java.util.ArrayList;
import java.util.List;

import io.vertx.mutiny.redis.client.Response;

/**
 * The scripts of the near-cache lease registry (see {@code io.strata.cache.near.NearLeases}): a sorted
 * set of lease holders scored by expiry on Redis's clock, and per holder the set of invalidations it
 * owes. All its keys share one hash tag, so each script runs on the registry's master alone.
 *
 * <p>None of these keys has a TTL, and Redis evicts only keys that have one ({@code volatile-lru}, as
 * deployed): an owed set that vanished would read as "nothing owed" and let its holder renew a lease
 * while it still serves a replaced version, and a registry that vanished would let writes see no
 * holder. Entries, fill tokens and rate-limit counters all carry a TTL, so eviction still has
 * everything the cache holds to choose from. A holder gone for a minute loses its owed set with its
 * place in the registry; if it ever comes back, its own clock has told it that its lease lapsed, and it
 * has dropped its near cache before it asks for a new one.
 */
public final class LeaseScripts {

    private LeaseScripts() {}

    /** The outcome of a lease renewal: renewed, or refused because this instance still owes invalidations. */
    public record Renewal(boolean renewed, long redisNowMillis, List<String> owed) {}

    private static final String REDIS_NOW = """
            local time = redis.call('TIME')
            local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
            """;

    private static final Scripts.Script RENEW = new Scripts.Script(REDIS_NOW + """
            local owed = redis.call('SMEMBERS', KEYS[2])
            if #owed > 0 then
              return {0, now, owed}
            end
            redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
            -- holders gone for a minute, and what they owed (an owed set has no TTL, see the class comment)
            local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
            for i = 1, #gone do
              redis.call('DEL', ARGV[3] .. gone[i])
            end
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
            return {1, now}
            """);

    /**
     * Registers or extends this instance's near-cache lease in the registry (a sorted set scored by
     * expiry, on Redis's clock), unless it owes invalidations: then nothing is extended and the owed
     * ones are answered, so that a holder that missed an invalidation cannot keep its lease.
     */
    public static Scripts.Call<Renewal> renewLease(
            String registry, String owedPrefix, String instance, long leaseMillis) {
        List<Object> args = List.of(instance, leaseMillis, owedPrefix);
        return Scripts.call(registry, RENEW, List.of(registry, owedPrefix + instance), args, reply -> {
            List<String> owed = new ArrayList<>();
            if (reply.size() > 2 && reply.get(2) != null) {
                reply.get(2).forEach(member -> owed.add(member.toString()));
            }
            return new Renewal(reply.get(0).toInteger() == 1, reply.get(1).toLong(), owed);
        });
    }

    private static final Scripts.Script RELINQUISH = new Scripts.Script("""
            redis.call('ZREM', KEYS[1], ARGV[1])
            redis.call('DEL', KEYS[2])
            return 1
            """);

    /** Gives this instance's lease up (it can no longer receive invalidations), with what it owed. */
    public static Scripts.Call<Void> relinquishLease(String registry, String owedKey, String instance) {
        return Scripts.call(registry, RELINQUISH, List.of(registry, owedKey), List.of(instance), reply -> null);
    }

    /** The lease holders a write waits for: each with its lease's expiry, on Redis's clock. */
    public record Holders(long redisNowMillis, java.util.Map<String, Long> expiries) {}

    private static final Scripts.Script HOLDERS = new Scripts.Script(REDIS_NOW + """
            local holders = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'WITHSCORES')
            for i = 1, #holders, 2 do
              if holders[i] ~= ARGV[1] then
                local owed = ARGV[2] .. holders[i]
                redis.call('SADD', owed, unpack(ARGV, 3))
              end
            end
            return {now, holders}
            """);

    /** At most this many writes share one snapshot (Lua's {@code unpack} has a bounded stack). */
    public static final int MAX_OWED_PER_SNAPSHOT = 256;

    /**
     * The instances holding a valid lease now, other than {@code self}; each is recorded as owing every
     * invalidation of {@code owed} (at most {@link #MAX_OWED_PER_SNAPSHOT}) until it answers it, so that
     * it cannot renew its lease before.
     */
    public static Scripts.Call<Holders> leaseHolders(
            String registry, String owedPrefix, String self, List<String> owed) {
        if (owed.isEmpty() || owed.size() > MAX_OWED_PER_SNAPSHOT) {
            throw new IllegalArgumentException("between 1 and " + MAX_OWED_PER_SNAPSHOT + " owed invalidations");
        }
        List<Object> args = new ArrayList<>(owed.size() + 2);
        args.add(self);
        args.add(owedPrefix);
        args.addAll(owed);
        return Scripts.call(registry, HOLDERS, List.of(registry), args, reply -> {
            java.util.Map<String, Long> expiries = new java.util.HashMap<>();
            Response holders = reply.get(1);
            for (int i = 0; i + 1 < holders.size(); i += 2) {
                String holder = holders.get(i).toString();
                if (!holder.equals(self)) {
                    expiries.put(
                            holder, (long) Double.parseDouble(holders.get(i + 1).toString()));
                }
            }
            return new Holders(reply.get(0).toLong(), expiries);
        });
    }

    private static final Scripts.Script ANSWER = new Scripts.Script("""
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
    public static Scripts.Call<Void> answerInvalidations(String owedKey, List<String> owed, List<String> messages) {
        List<Object> args = new ArrayList<>();
        args.add((long) owed.size());
        args.addAll(owed);
        args.addAll(messages);
        return Scripts.call(owedKey, ANSWER, List.of(owedKey), args, reply -> null);
    }
}
