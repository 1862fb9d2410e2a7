package dev.vllmrouter.policy.prefix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.CharBuffer;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class PrefixTreeTest {
    private final PrefixTree tree = new PrefixTree();

    @Test
    void emptyTreeAndEmptyTextMatchNothing() {
        assertThat(tree.match("hello").inputChars()).isEqualTo(5);
        assertThat(tree.match("hello").tenants()).isEmpty();
        assertThat(tree.match("hello").longest()).isZero();
        tree.insert("hello", "A");
        PrefixTree.Match empty = tree.match("");
        assertThat(empty.inputChars()).isZero();
        assertThat(empty.tenants()).isEmpty();
        TreeInvariants.check(tree, "empty");
    }

    @Test
    void emptyInsertRegistersTenantWithoutNodes() {
        tree.insert("", "A");
        assertThat(tree.tenants()).containsExactly("A");
        assertThat(tree.nodeCount()).isZero();
        assertThat(tree.chars("A")).isZero();
        assertThat(tree.chars("unknown")).isZero();
        TreeInvariants.check(tree, "empty insert");
    }

    @Test
    void divergingTextsSplitAnEdgeAndMatchPerTenant() {
        tree.insert("hello world", "A");
        tree.insert("hello there", "B");
        assertThat(tree.nodeCount()).isEqualTo(3); // "hello " + "world" + "there"
        assertThat(tree.chars("A")).isEqualTo(11);
        assertThat(tree.chars("B")).isEqualTo(11);

        PrefixTree.Match m = tree.match("hello world!");
        assertThat(m.inputChars()).isEqualTo(12);
        assertThat(m.tenants()).containsExactly("A", "B"); // longest first
        assertThat(m.matchedChars()).containsExactly(11, 6);
        assertThat(m.longest()).isEqualTo(11);
        assertThat(m.matchedChars("B")).isEqualTo(6);
        assertThat(m.matchedChars("C")).isZero();
        assertThat(m.holdersOf(6)).isEqualTo(2);
        assertThat(m.holdersOf(7)).isEqualTo(1);
        assertThat(m.holdersOf(12)).isZero();
        TreeInvariants.check(tree, "split");
    }

    @Test
    void divergenceInsideAnEdgeCountsTheMatchedPart() {
        tree.insert("abcdef", "A");
        assertThat(tree.match("abcxyz").matchedChars("A")).isEqualTo(3);
        assertThat(tree.match("abc").matchedChars("A")).isEqualTo(3);
        assertThat(tree.match("xabc").tenants()).isEmpty();
        assertThat(tree.nodeCount()).isEqualTo(1); // matching does not split
    }

    @Test
    void insertingAPrefixSplitsAndHoldsOnlyTheUpperPart() {
        tree.insert("abcdef", "A");
        tree.insert("abc", "B");
        assertThat(tree.nodeCount()).isEqualTo(2);
        assertThat(tree.chars("A")).isEqualTo(6);
        assertThat(tree.chars("B")).isEqualTo(3);
        assertThat(tree.match("abcdef").matchedChars("B")).isEqualTo(3);
        assertThat(TreeInvariants.heldNodePaths(tree, "B")).containsExactly("abc");
        TreeInvariants.check(tree, "prefix insert");
    }

    @Test
    void reinsertingIsIdempotentForCharsAndNodes() {
        tree.insert("conversation turn 1", "A");
        tree.insert("conversation turn 1", "A");
        tree.insert("conversation turn 1 and 2", "A");
        assertThat(tree.chars("A")).isEqualTo("conversation turn 1 and 2".length());
        assertThat(tree.nodeCount()).isEqualTo(2);
        TreeInvariants.check(tree, "reinsert");
    }

    @Test
    void unicodeAndSurrogatePairsAreCharsLikeAnyOther() {
        tree.insert("日本語😀テキスト", "A");
        tree.insert("日本語😁", "B"); // same high surrogate, different low one
        assertThat(tree.match("日本語😀").matchedChars("A")).isEqualTo(5);
        assertThat(tree.match("日本語😀").matchedChars("B")).isEqualTo(4);
        TreeInvariants.check(tree, "unicode");
    }

    @Test
    void anyCharSequenceWorks() {
        tree.insert(new StringBuilder("prompt text"), "A");
        CharBuffer buffer = CharBuffer.wrap("xxprompt tex");
        buffer.position(2);
        assertThat(tree.match(buffer).matchedChars("A")).isEqualTo(10);
        CharSequence custom = new CharSequence() {
            @Override
            public int length() {
                return 6;
            }

            @Override
            public char charAt(int index) {
                return "prompt".charAt(index);
            }

            @Override
            public CharSequence subSequence(int start, int end) {
                throw new UnsupportedOperationException();
            }
        };
        assertThat(tree.match(custom).matchedChars("A")).isEqualTo(6);
    }

    @Test
    void onlyTheFirstMaxTextCharsAreUsed() {
        PrefixTree small = new PrefixTree(8);
        small.insert("0123456789abcdef", "A");
        assertThat(small.chars("A")).isEqualTo(8);
        PrefixTree.Match m = small.match("0123456789");
        assertThat(m.inputChars()).isEqualTo(8);
        assertThat(m.matchedChars("A")).isEqualTo(8);
        assertThat(new PrefixTree().maxTextChars()).isEqualTo(1 << 20);
        assertThatThrownBy(() -> new PrefixTree(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void removeTenantFreesItsNodesAndKeepsOthers() {
        tree.insert("shared system prompt / question a", "A");
        tree.insert("shared system prompt / question b", "B");
        tree.insert("only A here", "A");
        tree.removeTenant("A");
        assertThat(tree.tenants()).containsExactly("B");
        assertThat(tree.chars("A")).isZero();
        assertThat(tree.nodeCount()).isEqualTo(2); // "... a" and "only A here" gone; "... question " and "b" remain
        assertThat(tree.match("shared system prompt / question a").tenants()).containsExactly("B");
        tree.removeTenant("A"); // unknown: no-op
        TreeInvariants.check(tree, "remove");
    }

    @Test
    void aReusedTenantIdIsReportedUnderItsNewName() {
        tree.insert("first text", "A");
        tree.removeTenant("A");
        tree.insert("second text", "C"); // takes A's id
        assertThat(tree.match("first text").tenants()).isEmpty();
        assertThat(tree.match("second text").tenants()).containsExactly("C");
        TreeInvariants.check(tree, "id reuse");
    }

    @Test
    void evictionDropsTheLeastRecentlyInsertedLeavesFirst() {
        tree.insert("aaaa1111", "A");
        tree.insert("bbbb2222", "A");
        tree.insert("cccc3333", "A");
        tree.insert("aaaa1111", "A"); // refreshed: now the newest
        tree.evict(16);
        assertThat(tree.chars("A")).isEqualTo(16);
        assertThat(tree.match("bbbb2222").tenants()).isEmpty();
        assertThat(tree.match("aaaa1111").matchedChars("A")).isEqualTo(8);
        assertThat(tree.match("cccc3333").matchedChars("A")).isEqualTo(8);
        tree.evict(8);
        assertThat(TreeInvariants.heldNodePaths(tree, "A")).containsExactly("aaaa1111");
        TreeInvariants.check(tree, "evict order");
    }

    @Test
    void evictionWalksUpFromLeavesAndNeverTouchesTenantsUnderBudget() {
        tree.insert("S-x", "A"); // stamps: 1
        tree.insert("S-y", "A"); // "S-" split: S-{A:2} -> x{A:1}, y{A:2}
        tree.insert("S-yz", "A"); // S-{3} -> x{1}, y{3} -> z{3}
        tree.insert("S-x", "B");
        assertThat(tree.chars("A")).isEqualTo(5);

        tree.evict(3); // x (oldest leaf), then z; y is now a leaf but A is within budget
        assertThat(TreeInvariants.heldNodePaths(tree, "A")).containsExactlyInAnyOrder("S-", "S-y");
        assertThat(tree.chars("B")).isEqualTo(3);
        assertThat(tree.nodeCount()).isEqualTo(3); // z unlinked; x still held by B
        TreeInvariants.check(tree, "evict 3");

        tree.evict(1); // node granularity: "S-" (2 chars) cannot be halved
        assertThat(tree.chars("A")).isZero();
        assertThat(tree.chars("B")).isZero(); // B is over budget too: x goes first, then "S-" (2 > 1)
        assertThat(tree.nodeCount()).isZero();
        assertThat(tree.tenants()).containsExactly("A", "B"); // eviction keeps tenants registered
        TreeInvariants.check(tree, "evict 1");
        assertThatThrownBy(() -> tree.evict(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sharedCharsIsWhereThePromptsPathLastBranches() {
        String system = "system: be brief\n";
        tree.insert(system + "user: one", "A");
        int branch = (system + "user: ").length();
        // the second conversation leaves the first one's text mid-edge: what they share is common, not its own
        assertThat(tree.match(system + "user: two").sharedChars()).isEqualTo(branch);
        tree.insert(system + "user: two", "B"); // now "system...user: " has two continuations
        // an input that branches off at that node (no child continues it) branches there too
        assertThat(tree.match(system + "user: four").sharedChars()).isEqualTo(branch);
        // extending a stored text past its end is no branch: the whole first conversation is its own
        assertThat(tree.match(system + "user: one and more").sharedChars()).isEqualTo(branch);
        PrefixTree.Match next = tree.match(system + "user: one\nassistant: ok\nuser: more");
        assertThat(next.sharedChars()).isEqualTo(branch);
        assertThat(next.matchedChars("A")).isEqualTo((system + "user: one").length());
        assertThat(next.matchedChars("B")).isEqualTo(branch);
        tree.insert(system + "user: one\nassistant: ok", "A"); // the conversation grows: no new branch
        assertThat(tree.match(system + "user: one\nassistant: ok\nuser: more").sharedChars()).isEqualTo(branch);
        assertThat(tree.match(system).sharedChars()).isZero(); // the branch lies beyond the input
        assertThat(tree.match(system + "user: ").sharedChars()).isEqualTo(branch);
    }

    @Test
    void matchResultIsImmutable() {
        tree.insert("abc", "A");
        PrefixTree.Match m = tree.match("abc");
        m.matchedChars()[0] = 99;
        assertThat(m.matchedChars("A")).isEqualTo(3);
        assertThatThrownBy(() -> m.tenants().add("X")).isInstanceOf(UnsupportedOperationException.class);
        assertThat(m).isEqualTo(new PrefixTree.Match(3, List.of("A"), new int[] {3}));
        assertThat(m.sharedChars()).isZero();
        assertThat(m.toString()).isEqualTo("Match[inputChars=3, sharedChars=0, A=3]");
    }

    @Test
    void longTextsGrowingTurnByTurnMatchExactly() {
        Random random = new Random(7);
        StringBuilder conversation = new StringBuilder("system: you are helpful\n");
        while (conversation.length() < 32 * 1024) {
            conversation.append("user: ").append(randomWord(random, 300)).append('\n');
            tree.insert(conversation, "A");
        }
        String text = conversation.toString();
        tree.insert(text.substring(0, 20_000) + "!", "B");
        PrefixTree.Match m = tree.match(text);
        assertThat(m.matchedChars("A")).isEqualTo(text.length());
        assertThat(m.matchedChars("B")).isEqualTo(20_000);
        assertThat(tree.chars("A")).isEqualTo(text.length());
        TreeInvariants.check(tree, "long texts");
    }

    private static String randomWord(Random random, int length) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++) {
            sb.append((char) ('a' + random.nextInt(26)));
        }
        return sb.toString();
    }
}
