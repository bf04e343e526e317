package io.strata.cache.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import jakarta.inject.Inject;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.strata.storage.Precondition;
import io.strata.storage.WriteResult;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * Writes and the near-cache lease holders of other instances: concurrent writes may share one
 * snapshot of the holders, but each of them is recorded as owed by every holder, and none is
 * acknowledged before the holder answered it (here the holder's lease outlives the test, so only the
 * answers can release the writes).
 */
@QuarkusTest
class LeaseHoldersTest extends ProtocolTest {

    private static final String REGISTRY = "strata:2:{near-leases}";
    private static final int WRITES = 12;

    @Inject
    Redis client;

    @Test
    void everyConcurrentWriteIsOwedByEveryHolderAndWaitsForItsAnswer() {
        String peer = "peer" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        String owedKey = REGISTRY + ":owed:" + peer;
        String c = newCollection("holders");
        long redisNow = send(Request.cmd(Command.TIME)).get(0).toLong() * 1000;
        send(Request.cmd(Command.ZADD).arg(REGISTRY).arg(redisNow + 120_000).arg(peer));
        try {
            List<CompletableFuture<WriteResult>> writes = new ArrayList<>();
            Set<String> entryKeys = new HashSet<>();
            for (int i = 0; i < WRITES; i++) {
                entryKeys.add(RedisProbe.entryKey(c, "d" + i));
                writes.add(cache.put(c, "d" + i, utf8("{\"n\":" + i + "}"), Precondition.NONE)
                        .subscribeAsCompletionStage());
            }
            Awaitility.await("every write recorded as owed by the holder")
                    .atMost(WAIT)
                    .until(() -> owedEntries(owedKey, c).equals(entryKeys));
            assertEquals(WRITES, owed(owedKey, c).size(), "one owed invalidation per write");
            writes.forEach(write -> assertFalse(write.isDone(), "acknowledged before the holder answered"));

            // answers by writer, as the holder sends them: "<holder> <writeId>,<writeId>,…"
            Map<String, List<String>> byWriter = new HashMap<>();
            for (String member : owed(owedKey, c)) {
                String[] parts = member.split(" ");
                byWriter.computeIfAbsent(parts[0], w -> new ArrayList<>()).add(parts[1]);
            }
            Awaitility.await("every write acknowledged once answered")
                    .atMost(WAIT)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        // sent again until received: the answers channel may still be subscribing
                        byWriter.forEach((writer, writeIds) -> send(Request.cmd(Command.PUBLISH)
                                .arg(REGISTRY + ":answers:" + writer)
                                .arg(peer + " " + String.join(",", writeIds))));
                        return writes.stream().allMatch(CompletableFuture::isDone);
                    });
            writes.forEach(write -> assertFalse(write.isCompletedExceptionally(), "a write failed"));
        } finally {
            send(Request.cmd(Command.ZREM).arg(REGISTRY).arg(peer));
            send(Request.cmd(Command.DEL).arg(owedKey));
        }
    }

    /** The holder's owed invalidations ({@code writer writeId entryKey}) of the collection's documents. */
    private List<String> owed(String owedKey, String collection) {
        List<String> members = new ArrayList<>();
        for (Response member : send(Request.cmd(Command.SMEMBERS).arg(owedKey))) {
            String text = member.toString();
            if (text.contains("{" + collection + "/")) {
                members.add(text);
            }
        }
        return members;
    }

    private Set<String> owedEntries(String owedKey, String collection) {
        Set<String> entries = new HashSet<>();
        owed(owedKey, collection).forEach(member -> entries.add(member.split(" ")[2]));
        return entries;
    }

    private Response send(Request request) {
        return client.send(request).await().atMost(WAIT);
    }
}
