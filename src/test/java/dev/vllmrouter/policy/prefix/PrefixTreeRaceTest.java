package dev.vllmrouter.policy.prefix;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

import org.junit.jupiter.api.Test;

/** Many virtual threads released by one latch hit one tree; afterwards the invariants must hold. */
class PrefixTreeRaceTest {
    private static final int THREADS = 16;

    @Test
    void concurrentInsertsMatchesRemovalsAndEvictionsKeepTheTreeConsistent() throws Exception {
        PrefixTree tree = new PrefixTree();
        Random setup = new Random(11);
        String system = "<|system|>" + letters(setup, 300);
        List<String> pool = new ArrayList<>();
        for (int c = 0; c < 48; c++) {
            StringBuilder conversation = new StringBuilder(system).append("#").append(c);
            for (int turn = 0; turn < 6; turn++) {
                conversation.append("\n<|user|>").append(letters(setup, 10 + setup.nextInt(80)));
                pool.add(conversation.toString());
            }
        }
        Map<String, Set<String>> insertedBy = new ConcurrentHashMap<>();
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        run(seed -> {
            Random random = new Random(seed);
            for (int op = 0; op < 3000; op++) {
                String tenant = "http://w" + random.nextInt(8) + ":8000";
                String text = pool.get(random.nextInt(pool.size()));
                int kind = random.nextInt(100);
                if (kind < 50) {
                    insertedBy.computeIfAbsent(tenant, t -> ConcurrentHashMap.newKeySet()).add(text);
                    tree.insert(text, tenant);
                } else if (kind < 92) {
                    String query = text.substring(0, random.nextInt(text.length())) + letters(random, 5);
                    checkMatch(tree.match(query), query, insertedBy, failures);
                } else if (kind < 96) {
                    tree.evict(random.nextInt(5000));
                } else if (kind < 99) {
                    tree.removeTenant(tenant);
                } else {
                    if (tree.chars(tenant) < 0 || tree.nodeCount() < 0 || tree.tenants().size() > 8) {
                        failures.add("race insert/evict vs chars/nodeCount/tenants: negative or too many");
                    }
                }
            }
        }, failures);
        assertThat(failures).as("failures during the race").isEmpty();
        TreeInvariants.check(tree, "after the race of inserts, matches, removals and evictions");
        for (String t : tree.tenants()) {
            for (String path : TreeInvariants.heldNodePaths(tree, t)) {
                assertThat(insertedBy.get(t)).as("race insert vs remove: %s holds only prefixes of its texts", t)
                        .anyMatch(s -> s.startsWith(path));
            }
        }
    }

    @Test
    void splitsAndTenantChurnNeverTearWhatAReaderSees() throws Exception {
        PrefixTree tree = new PrefixTree();
        String text = "S" + letters(new Random(5), 2047);
        tree.insert(text, "A"); // A holds all of text throughout
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        run(seed -> {
            Random random = new Random(seed);
            for (int op = 0; op < 2000; op++) {
                if (seed % 4 == 0) { // splitters: cut A's edge anywhere, and branch off it
                    int at = 1 + random.nextInt(text.length() - 1);
                    tree.insert(text.substring(0, at), "B");
                    tree.insert(text.substring(0, at) + "!", "B");
                } else if (seed % 4 == 1) { // churn: X holds text, leaves; new tenants reuse its id elsewhere
                    tree.insert(text, "X");
                    tree.removeTenant("X");
                    tree.insert("T" + op, "Y" + seed + "-" + op);
                    tree.removeTenant("Y" + seed + "-" + op);
                } else {
                    PrefixTree.Match m = tree.match(text);
                    if (m.matchedChars("A") != text.length()) {
                        failures.add("race split vs match: A matched " + m.matchedChars("A") + " of " + text.length());
                    }
                    for (String t : m.tenants()) {
                        if (!t.equals("A") && !t.equals("B") && !t.equals("X")) {
                            failures.add("race id reuse vs match: " + t + " reported on a text it never inserted");
                        }
                    }
                }
            }
        }, failures);
        assertThat(failures).as("failures during the race").isEmpty();
        TreeInvariants.check(tree, "after the split and churn race");
        assertThat(tree.match(text).matchedChars("A")).isEqualTo(text.length());
    }

    @Test
    void evictionStepsInterleavedWithInsertsAndSplitsKeepTheTreeConsistent() throws Exception {
        PrefixTree tree = new PrefixTree();
        Random setup = new Random(3);
        List<String> pool = new ArrayList<>();
        for (int i = 0; i < 4000; i++) {
            pool.add("sys:" + letters(setup, 2) + ":" + letters(setup, 20 + setup.nextInt(40)));
        }
        for (int i = 0; i < pool.size(); i++) {
            tree.insert(pool.get(i), "t" + (i % 4)); // ~1000 leaves each: evictions take several lock steps
        }
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        run(seed -> {
            Random random = new Random(seed);
            for (int op = 0; op < 1500; op++) {
                String text = pool.get(random.nextInt(pool.size()));
                if (seed == 0) {
                    tree.evict(random.nextInt(20_000));
                } else if (seed % 3 == 0) {
                    tree.match(text.substring(0, random.nextInt(text.length())));
                } else { // refresh old content, split edges anywhere, grow new leaves
                    String tenant = "t" + random.nextInt(4);
                    tree.insert(random.nextBoolean() ? text : text.substring(0, 1 + random.nextInt(text.length() - 1)),
                            tenant);
                }
            }
        }, failures);
        assertThat(failures).as("failures during the race").isEmpty();
        TreeInvariants.check(tree, "after eviction steps raced with inserts and splits");
        tree.evict(5_000);
        TreeInvariants.check(tree, "after a final eviction");
        for (String t : tree.tenants()) {
            assertThat(tree.chars(t)).as("race eviction vs insert: %s within budget afterwards", t)
                    .isLessThanOrEqualTo(5_000);
        }
    }

    private static void checkMatch(PrefixTree.Match m, String query, Map<String, Set<String>> insertedBy,
            Queue<String> failures) {
        int previous = Integer.MAX_VALUE;
        for (int i = 0; i < m.tenants().size(); i++) {
            String t = m.tenants().get(i);
            int len = m.matchedChars()[i];
            if (len <= 0 || len > m.inputChars() || len > previous) {
                failures.add("race insert vs match: bad length " + len + " for " + t);
            }
            previous = len;
            Set<String> texts = insertedBy.getOrDefault(t, Set.of());
            if (texts.stream().noneMatch(s -> s.regionMatches(0, query, 0, len))) {
                failures.add("race insert/remove vs match: " + t + " credited with " + len
                        + " chars it never inserted");
            }
        }
    }

    private static void run(IntConsumer worker, Queue<String> failures) throws InterruptedException {
        CountDownLatch start = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < THREADS; i++) {
                int seed = i;
                pool.submit(() -> {
                    try {
                        start.await();
                        worker.accept(seed);
                    } catch (Throwable e) {
                        failures.add("thread " + seed + " threw " + e);
                    }
                });
            }
            start.countDown();
            pool.shutdown();
            assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).as("race finished").isTrue();
        }
    }

    private static String letters(Random random, int length) {
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            sb.append((char) ('a' + random.nextInt(26)));
        }
        return sb.toString();
    }
}
