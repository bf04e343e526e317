package io.strata.cache.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/** Hash slots as the Redis Cluster specification defines them (CRC16/XMODEM of the hash tag, mod 16384). */
class ClusterTopologyTest {

    @Test
    void slotOfAPlainKeyMatchesTheSpecification() {
        assertEquals(12182, ClusterTopology.slot("foo"));
        assertEquals(0x31C3 & 16383, ClusterTopology.slot("123456789"));
    }

    @Test
    void hashTagDecidesTheSlot() {
        assertEquals(ClusterTopology.slot("user1000"), ClusterTopology.slot("{user1000}.following"));
        assertEquals(ClusterTopology.slot("user1000"), ClusterTopology.slot("{user1000}.followers"));
        assertEquals(ClusterTopology.slot("bar"), ClusterTopology.slot("foo{bar}{zap}"));
    }

    @Test
    void emptyOrUnclosedTagMeansTheWholeKey() {
        // the first '{' decides: an empty tag is no tag, so a later {bar} does not count; the slots are
        // those of the whole keys (CRC16/XMODEM mod 16384, as CLUSTER KEYSLOT answers)
        assertEquals(8363, ClusterTopology.slot("foo{}{bar}"));
        assertEquals(15278, ClusterTopology.slot("foo{bar"));
        assertNotEquals(ClusterTopology.slot("bar"), ClusterTopology.slot("foo{}{bar}"));
    }

    @Test
    void allKeysOfADocumentShareASlot() {
        CacheKeys keys = new CacheKeys("strata");
        assertEquals(
                ClusterTopology.slot(keys.entry("books", "dune")),
                ClusterTopology.slot(keys.fillToken("books", "dune")));
        assertEquals(ClusterTopology.slot("books/dune"), ClusterTopology.slot(keys.entry("books", "dune")));
    }
}
