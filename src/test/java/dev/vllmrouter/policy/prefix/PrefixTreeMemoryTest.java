package dev.vllmrouter.policy.prefix;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;

/** Under a stream of distinct texts, periodic eviction keeps chars and nodes bounded. */
class PrefixTreeMemoryTest {
    @Test
    void periodicEvictionBoundsCharsAndNodes() {
        String[] tenants = {"A", "B", "C", "D"};
        long budget = 20_000;
        PrefixTree tree = new PrefixTree(256);
        Random random = new Random(42);
        String system = "You are a helpful assistant. ";
        int maxNodes = 0;
        for (int i = 1; i <= 50_000; i++) {
            StringBuilder text = new StringBuilder();
            if (random.nextBoolean()) {
                text.append(system);
            }
            int length = 20 + random.nextInt(400); // beyond maxTextChars sometimes
            for (int k = 0; k < length; k++) {
                text.append((char) ('a' + random.nextInt(26)));
            }
            tree.insert(text, tenants[random.nextInt(tenants.length)]);
            maxNodes = Math.max(maxNodes, tree.nodeCount());
            if (i % 1000 == 0) {
                tree.evict(budget);
                long total = 0;
                for (String t : tenants) {
                    assertThat(tree.chars(t)).as("chars of %s after evict at insert %d", t, i).isLessThanOrEqualTo(budget);
                    total += tree.chars(t);
                }
                assertThat((long) tree.nodeCount()).as("nodes after evict at insert %d", i).isLessThanOrEqualTo(total);
            }
        }
        // between evictions: at most 1000 inserts of at most 2 nodes and 256 chars each on top of the budget
        assertThat(maxNodes).isLessThanOrEqualTo(tenants.length * (int) budget + 2 * 1000);
        TreeInvariants.check(tree, "after 50k distinct texts");
        for (String t : tenants) {
            assertThat(tree.chars(t)).isGreaterThan(budget / 2); // evicts to the budget, not far below it
        }
    }
}
