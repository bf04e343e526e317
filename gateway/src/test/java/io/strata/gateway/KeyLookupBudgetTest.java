package io.strata.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.strata.gateway.security.ApiKeys;
import io.strata.gateway.security.ApiKeys.Verification;
import io.strata.storage.ApiKeyStore;

/**
 * The per-instance budget of key lookups: once a flood of made-up keys has spent it, unknown keys are
 * refused without a lookup, while every key Strata issued (tagged) is still looked up, on an instance
 * that never saw it too, and so is any key verified here before whose cache entry expires meanwhile.
 */
@QuarkusTest
@TestProfile(KeyLookupBudgetTest.OneLookupPerSecond.class)
class KeyLookupBudgetTest {

    /** A budget of one lookup per second and verified keys cached for one second: both run out within the test. */
    public static class OneLookupPerSecond implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("strata.auth.key-lookups-per-second", "1", "strata.auth.key-cache-ttl", "1s");
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    @Inject
    ApiKeys keys;

    @Inject
    ApiKeyStore store;

    private Verification verify(String secret) {
        return keys.verify(secret).await().atMost(Duration.ofSeconds(10));
    }

    private static String madeUp() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return "sk_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** A key whose secret an operator chose (as the bootstrap admin key): stored, but without Strata's tag. */
    private String untaggedKey(String scope) {
        String secret = madeUp();
        byte[] id = new byte[9];
        RANDOM.nextBytes(id);
        store.create("key_" + HexFormat.of().formatHex(id), "chosen", keys.hash(secret), List.of(scope), 0)
                .await()
                .atMost(Duration.ofSeconds(10));
        return secret;
    }

    /** Made-up keys until one is refused without a lookup. */
    private void spendTheBudget() {
        boolean throttled = false;
        for (int i = 0; i < 5 && !throttled; i++) {
            throttled = verify(madeUp()).throttled();
        }
        assertTrue(throttled, "made-up keys spend the budget");
    }

    @Test
    void aFloodLocksOutNoKeyStrataIssuedEvenOneThisInstanceNeverSaw() {
        String issued = TestKeys.create(keys, "read:budget");
        spendTheBudget();
        Verification verification = verify(issued);
        assertNotNull(verification.key(), "the issued key is looked up although the budget is spent");
        assertTrue(verify(madeUp()).throttled(), "made-up keys are still refused without a lookup");
    }

    @Test
    void aFloodDoesNotLockOutAnUntaggedKeyVerifiedBefore() throws InterruptedException {
        String chosen = untaggedKey("read:budget");
        Thread.sleep(1100); // a fresh budget (one lookup)
        assertNotNull(verify(chosen).key(), "the chosen key is verified, spending the budget");
        Thread.sleep(1100); // its cache entry has expired, and the budget holds one lookup again

        Verification first = verify(madeUp());
        assertNull(first.key());
        assertEquals(false, first.throttled(), "the first made-up key is looked up (and not found)");
        assertTrue(verify(madeUp()).throttled(), "the budget is spent: the next one is refused without a lookup");

        assertNotNull(verify(chosen).key(), "the chosen key is looked up again although the budget is spent");
        assertTrue(verify(madeUp()).throttled(), "made-up keys are still refused without a lookup");
    }

    @Test
    void anUntaggedKeyNeverVerifiedHereWaitsForTheBudget() {
        // the budget refills within a second: a stall of the test between spending it and presenting the
        // key may let one through, so each attempt has a key of its own
        boolean throttled = false;
        for (int attempt = 0; attempt < 3 && !throttled; attempt++) {
            String chosen = untaggedKey("read:budget");
            spendTheBudget();
            throttled = verify(chosen).throttled();
        }
        assertTrue(throttled, "an untagged key this instance never verified is under the cap");
    }
}
