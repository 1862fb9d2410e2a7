package dev.vllmrouter.policy.prefix;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Random sequences of inserts, matches, removals and evictions on chat-like texts (shared system prompts that diverge
 * mid-way, conversations growing turn by turn, unicode), compared after every step with {@link ReferenceModel}.
 */
class PrefixTreeModelTest {
    private static final String[] ALPHABET = {"a", "b", "c", " ", "\n", "é", "中", "😀", "😁"};
    private static final String[] TENANTS = {"http://w0:8000", "http://w1:8000", "http://w2:8000", "http://w3:8000"};

    @ParameterizedTest(name = "seed {0}, maxTextChars {1}")
    @CsvSource({"1, 1048576", "2, 1048576", "3, 1048576", "4, 1048576", "5, 120", "6, 60", "7, 1048576", "8, 200"})
    void matchesTheBruteForceModelAfterEveryStep(long seed, int maxTextChars) {
        Random random = new Random(seed);
        PrefixTree tree = new PrefixTree(maxTextChars);
        ReferenceModel model = new ReferenceModel(maxTextChars);
        String base = "<|system|>" + word(random, 20);
        List<String> systems = List.of(base + word(random, 8), base + word(random, 8), base.substring(0, 15) + "!");
        List<StringBuilder> conversations = new ArrayList<>();
        for (int step = 0; step < 400; step++) {
            String context = "seed " + seed + " step " + step;
            int op = random.nextInt(100);
            if (op < 5 || conversations.isEmpty()) {
                conversations.add(new StringBuilder(systems.get(random.nextInt(systems.size()))));
            } else if (op < 55) {
                StringBuilder conversation = conversations.get(random.nextInt(conversations.size()));
                conversation.append("\n<|user|>").append(word(random, 1 + random.nextInt(12)));
                String tenant = TENANTS[random.nextInt(TENANTS.length)];
                tree.insert(conversation, tenant);
                model.insert(conversation.toString(), tenant);
                context += " insert " + tenant;
            } else if (op < 57) {
                String tenant = TENANTS[random.nextInt(TENANTS.length)];
                tree.insert("", tenant);
                model.insert("", tenant);
            } else if (op < 88) {
                String text = matchText(random, conversations);
                assertMatches(tree, model, text, context + " match");
            } else if (op < 92) {
                String tenant = TENANTS[random.nextInt(TENANTS.length)];
                tree.removeTenant(tenant);
                model.remove(tenant);
                context += " remove " + tenant;
            } else {
                long budget = random.nextInt(300);
                evictAndCheck(tree, model, budget, context + " evict " + budget);
            }
            TreeInvariants.check(tree, context);
            assertThat(tree.tenants()).as(context).containsExactlyElementsOf(model.tenants());
            for (String t : model.tenants()) {
                assertThat(tree.chars(t)).as(context + " chars(" + t + ")").isEqualTo(model.chars(t));
                if (step % 25 == 0) {
                    assertThat(TreeInvariants.held(tree, t).keySet()).as(context + " held by " + t)
                            .isEqualTo(model.held(t).keySet());
                }
            }
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @CsvSource({"21", "22"})
    void largeEvictionsInManyLockStepsKeepTheNewestContent(long seed) {
        Random random = new Random(seed);
        PrefixTree tree = new PrefixTree();
        ReferenceModel model = new ReferenceModel(PrefixTree.DEFAULT_MAX_TEXT_CHARS);
        List<StringBuilder> conversations = new ArrayList<>();
        for (int i = 0; i < 1600; i++) { // ~800 leaves per tenant: several steps of Eviction.LEAVES_PER_STEP
            if (conversations.isEmpty() || random.nextInt(3) == 0) {
                conversations.add(new StringBuilder("sys").append(word(random, 4)));
            }
            StringBuilder conversation = conversations.get(random.nextInt(conversations.size()));
            conversation.append('|').append(word(random, 3 + random.nextInt(5)));
            String tenant = TENANTS[random.nextInt(2)];
            tree.insert(conversation, tenant);
            model.insert(conversation.toString(), tenant);
        }
        for (long budget : new long[] {model.chars(TENANTS[0]) / 2, 400, 0}) {
            evictAndCheck(tree, model, budget, "seed " + seed + " evict " + budget);
            TreeInvariants.check(tree, "seed " + seed + " after evict " + budget);
        }
        assertThat(tree.nodeCount()).isZero();
    }

    private static void assertMatches(PrefixTree tree, ReferenceModel model, String text, String context) {
        PrefixTree.Match m = tree.match(text);
        assertThat(m.inputChars()).as(context).isEqualTo(model.inputChars(text));
        Map<String, Integer> actual = new TreeMap<>();
        for (int i = 0; i < m.tenants().size(); i++) {
            actual.put(m.tenants().get(i), m.matchedChars()[i]);
            if (i > 0) {
                assertThat(m.matchedChars()[i]).as(context + " longest first").isLessThanOrEqualTo(m.matchedChars()[i - 1]);
            }
        }
        assertThat(actual).as(context + " on " + text).isEqualTo(model.match(text));
        assertThat(m.sharedChars()).as(context + " sharedChars on " + text).isEqualTo(model.shared(text));
    }

    /**
     * After {@code evict(budget)} every tenant holds at most {@code budget} chars, a subset of what it held, all of
     * it if it was within budget, and nothing it removed was inserted more recently than anything it kept.
     */
    private static void evictAndCheck(PrefixTree tree, ReferenceModel model, long budget, String context) {
        Map<String, Map<String, Long>> before = new TreeMap<>();
        for (String t : model.tenants()) {
            before.put(t, model.held(t));
        }
        tree.evict(budget);
        for (var entry : before.entrySet()) {
            String t = entry.getKey();
            Map<String, Long> was = entry.getValue();
            Set<String> kept = TreeInvariants.held(tree, t).keySet();
            assertThat(tree.chars(t)).as(context + " " + t + " within budget").isLessThanOrEqualTo(budget);
            assertThat(was.keySet()).as(context + " " + t + " kept a subset").containsAll(kept);
            if (was.size() <= budget) {
                assertThat(kept).as(context + " " + t + " untouched under budget").isEqualTo(was.keySet());
            }
            Set<String> removed = new HashSet<>(was.keySet());
            removed.removeAll(kept);
            long newestRemoved = removed.stream().mapToLong(was::get).max().orElse(Long.MIN_VALUE);
            long oldestKept = kept.stream().mapToLong(was::get).min().orElse(Long.MAX_VALUE);
            assertThat(newestRemoved).as(context + " " + t + " LRU order").isLessThanOrEqualTo(oldestKept);
            model.retain(t, kept);
        }
    }

    private static String matchText(Random random, List<StringBuilder> conversations) {
        String conversation = conversations.get(random.nextInt(conversations.size())).toString();
        return switch (random.nextInt(4)) {
            case 0 -> conversation;
            case 1 -> conversation + "\n<|user|>" + word(random, 5); // the next turn
            case 2 -> conversation.substring(0, random.nextInt(conversation.length() + 1)) + word(random, 3);
            default -> word(random, 1 + random.nextInt(10));
        };
    }

    private static String word(Random random, int length) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++) {
            sb.append(ALPHABET[random.nextInt(ALPHABET.length)]);
        }
        return sb.toString();
    }
}
