package io.strata.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/** While Redis cannot answer, a key stays limited by this instance alone: "open" never means "unlimited". */
class RateLimiterLocalTest {

    private static CacheConfig defaults() {
        // Quarkus's own spellings of durations ("3s") and sizes ("32M"), as in the application
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(CacheConfig.class)
                .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withConverter(
                        io.quarkus.runtime.configuration.MemorySize.class,
                        200,
                        new io.quarkus.runtime.configuration.MemorySizeConverter())
                .build();
        return config.getConfigMapping(CacheConfig.class);
    }

    @Test
    void theLocalLimitAdmitsTheKeysLimitPerSecondAndRefusesTheRest() {
        RateLimiter limiter = new RateLimiter(null, defaults(), new SimpleMeterRegistry());
        int admitted = 0;
        RateLimiter.Decision last = null;
        long window = System.currentTimeMillis() / 1000;
        for (int i = 0; i < 50; i++) {
            last = limiter.acquireLocally("key_a", 10);
            if (last.allowed()) {
                admitted++;
            }
        }
        if (System.currentTimeMillis() / 1000 == window) {
            assertEquals(10, admitted, "one second's limit, no more");
            assertFalse(last.allowed());
            assertEquals(0, last.remaining());
        } else {
            // the loop crossed into a new second: at most two windows' worth
            assertTrue(admitted >= 10 && admitted <= 20, "admitted " + admitted);
        }
        assertTrue(limiter.acquireLocally("key_b", 10).allowed(), "each key has its own count");
    }
}
