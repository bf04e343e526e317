package io.strata.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.strata.gateway.security.ApiKeys;
import io.strata.gateway.security.ApiKeys.Verification;

/**
 * The per-instance budget of key lookups: once a flood of made-up keys has spent it, unknown keys are
 * refused without a lookup, and a real key whose cache entry expires meanwhile is still looked up.
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

    private Verification verify(String secret) {
        return keys.verify(secret).await().atMost(Duration.ofSeconds(10));
    }

    private static String madeUp() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return "sk_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    @Test
    void aFloodOfUnknownKeysDoesNotLockOutAKeyVerifiedBefore() throws InterruptedException {
        String real = TestKeys.create(keys, "read:budget");
        Thread.sleep(1100); // the budget is full (one lookup)
        assertNotNull(verify(real).key(), "the real key is verified, spending the budget");
        Thread.sleep(1100); // its cache entry has expired, and the budget holds one lookup again

        Verification first = verify(madeUp());
        assertNull(first.key());
        assertEquals(false, first.throttled(), "the first made-up key is looked up (and not found)");
        assertTrue(verify(madeUp()).throttled(), "the budget is spent: the next one is refused without a lookup");

        Verification again = verify(real);
        assertNotNull(again.key(), "the real key is looked up again although the budget is spent");
        assertTrue(verify(madeUp()).throttled(), "made-up keys are still refused without a lookup");
    }
}
