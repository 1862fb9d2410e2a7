package dev.vllmrouter.kvindex;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class KvIndexTest {
    private static final int BS = 4;
    private final AtomicLong now = new AtomicLong(1_000);
    private final KvIndex index = new KvIndex(now::get, 1000);

    /** Tokens 1..n. */
    private static int[] tokens(int n, int offset) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = offset + i + 1;
        }
        return t;
    }

    private static long[] hashes(long... h) {
        return h;
    }

    @Test
    void aStoredChainIsFoundByItsTokensWhateverTheEngineHashes() {
        int[] prompt = tokens(10, 0); // 2 full blocks and 2 tokens
        index.stored("w1", hashes(-5L, 77L), null, java.util.Arrays.copyOf(prompt, 8), BS, null, null, Medium.GPU);
        // another engine hashes the same tokens differently (other PYTHONHASHSEED): same own keys
        index.stored("w2", hashes(1L), null, java.util.Arrays.copyOf(prompt, 4), BS, null, null, Medium.GPU);

        Map<String, KvIndex.Match> m = index.lookup(prompt, BS, null, null);
        assertThat(m.get("w1")).isEqualTo(new KvIndex.Match(8, 8, Medium.GPU, false));
        assertThat(m.get("w2")).isEqualTo(new KvIndex.Match(4, 4, Medium.GPU, false));
        // a prompt that differs in block 0 matches nothing
        assertThat(index.lookup(tokens(10, 100), BS, null, null)).isEmpty();
        // a prompt that shares block 0 only
        int[] other = prompt.clone();
        other[5] = 999;
        assertThat(index.lookup(other, BS, null, null).get("w1").tokens()).isEqualTo(4);
    }

    @Test
    void aPartialStoreChainsOntoItsParentAndAnUnknownParentIsSkipped() {
        int[] prompt = tokens(12, 0);
        index.stored("w", hashes(10L), null, slice(prompt, 0, 4), BS, null, null, Medium.GPU);
        KvIndex.StoreResult r = index.stored("w", hashes(11L, 12L), 10L, slice(prompt, 4, 12), BS, null, null,
                Medium.GPU);
        assertThat(r).isEqualTo(new KvIndex.StoreResult(2, 0));
        assertThat(index.lookup(prompt, BS, null, null).get("w").tokens()).isEqualTo(12);

        KvIndex.StoreResult orphan = index.stored("w", hashes(21L), 20L, slice(tokens(8, 50), 4, 8), BS, null, null,
                Medium.GPU);
        assertThat(orphan).isEqualTo(new KvIndex.StoreResult(0, 1));
        assertThat(index.blocks("w")).isEqualTo(3);
    }

    @Test
    void removalIsPerMediumAndTheRunReportsItsTiers() {
        int[] prompt = tokens(8, 0);
        index.stored("w", hashes(1L, 2L), null, prompt, BS, null, null, Medium.GPU);
        // the offloading connector copies both blocks to CPU: no tokens, same engine hashes
        assertThat(index.stored("w", hashes(1L, 2L, 3L), null, new int[0], BS, null, null, Medium.CPU))
                .isEqualTo(new KvIndex.StoreResult(2, 1));
        index.removed("w", hashes(2L), Medium.GPU);
        assertThat(index.lookup(prompt, BS, null, null).get("w"))
                .isEqualTo(new KvIndex.Match(8, 4, Medium.CPU, false));
        index.removed("w", hashes(2L), Medium.CPU);
        assertThat(index.lookup(prompt, BS, null, null).get("w"))
                .isEqualTo(new KvIndex.Match(4, 4, Medium.GPU, false));
        assertThat(index.blocks("w")).isEqualTo(1);
        index.removed("w", hashes(1L), Medium.GPU);
        index.removed("w", hashes(1L), Medium.CPU);
        assertThat(index.lookup(prompt, BS, null, null)).isEmpty();
        assertThat(index.stats().blocks()).isZero();
    }

    @Test
    void resetAndRemovalDropASourceOnly() {
        int[] prompt = tokens(8, 0);
        index.stored("a", hashes(1L, 2L), null, prompt, BS, null, null, Medium.GPU);
        index.stored("b", hashes(1L, 2L), null, prompt, BS, null, null, Medium.GPU);
        index.reset("a");
        assertThat(index.lookup(prompt, BS, null, null)).containsOnlyKeys("b");
        index.stored("a", hashes(1L), null, slice(prompt, 0, 4), BS, null, null, Medium.GPU);
        index.removeSource("b");
        assertThat(index.lookup(prompt, BS, null, null)).containsOnlyKeys("a");
        assertThat(index.stats().blocks()).isEqualTo(1);
        assertThat(index.blocks("b")).isZero();
    }

    @Test
    void loraSaltAndMultimodalKeysKeepPrefixesApart() {
        int[] prompt = tokens(8, 0);
        index.stored("plain", hashes(1L, 2L), null, prompt, BS, null, null, Medium.GPU);
        index.stored("lora", hashes(1L, 2L), null, prompt, BS, "sql-adapter", null, Medium.GPU);
        long salt = BlockKeys.extraDigest(List.of(BlockKeys.saltPart("tenant-7")));
        index.stored("salted", hashes(1L, 2L), null, prompt, BS, null, new long[] {salt, 0}, Medium.GPU);
        long image = BlockKeys.extraDigest(List.of("s:mm-hash-abc"));
        index.stored("image", hashes(1L, 2L), null, prompt, BS, null, new long[] {image, image}, Medium.GPU);

        assertThat(index.lookup(prompt, BS, null, null)).containsOnlyKeys("plain");
        assertThat(index.lookup(prompt, BS, "sql-adapter", null)).containsOnlyKeys("lora");
        assertThat(index.lookup(prompt, BS, null, "tenant-7")).containsOnlyKeys("salted");
        assertThat(index.lookup(prompt, BS, null, "tenant-7").get("salted").tokens()).isEqualTo(8);
        assertThat(index.lookup(prompt, BS, null, "tenant-8")).isEmpty();
    }

    @Test
    void theBoundEvictsTheOldestBlockOfTheLargestSource() {
        KvIndex small = new KvIndex(now::get, 4);
        small.stored("big", hashes(1L, 2L, 3L), null, tokens(12, 0), BS, null, null, Medium.GPU);
        small.stored("small", hashes(1L), null, tokens(4, 500), BS, null, null, Medium.GPU);
        assertThat(small.stats().evictions()).isZero();
        small.stored("small", hashes(2L), 1L, tokens(4, 600), BS, null, null, Medium.GPU);
        // 5 entries > 4: "big" (3) is the largest, its oldest (block 0, the root) goes
        assertThat(small.stats().evictions()).isEqualTo(1);
        assertThat(small.stats().blocks()).isEqualTo(4);
        assertThat(small.blocks("big")).isEqualTo(2);
        assertThat(small.lookup(tokens(12, 0), BS, null, null)).isEmpty(); // the run starts at the root
        assertThat(small.stats().approxBytes()).isEqualTo(4L * KvIndex.BYTES_PER_BLOCK);
    }

    @Test
    void speculationHoldsForItsTtlOnTheInjectedClock() {
        int[] prompt = tokens(9, 0);
        index.addSource("w");
        index.speculate("w", prompt, BS, null, null, Duration.ofSeconds(2));
        index.speculate("unknown", prompt, BS, null, null, Duration.ofSeconds(2));
        assertThat(index.lookup(prompt, BS, null, null))
                .containsExactly(Map.entry("w", new KvIndex.Match(8, 8, Medium.GPU, true)));
        // an event confirms block 0: the run is still 8, partly speculative
        index.stored("w", hashes(1L), null, slice(prompt, 0, 4), BS, null, null, Medium.GPU);
        now.addAndGet(Duration.ofSeconds(2).toNanos());
        assertThat(index.lookup(prompt, BS, null, null).get("w"))
                .isEqualTo(new KvIndex.Match(4, 4, Medium.GPU, false));
        assertThat(index.stats().speculative()).isEqualTo(2);
        index.expireSpeculation();
        assertThat(index.stats().speculative()).isZero();
    }

    @Test
    void speculationFromABlockOnMarksOnlyTheTailAndARunJoinsEventFedAndGuessedBlocks() {
        int[] prompt = tokens(16, 0); // 4 blocks
        long[] keys = BlockKeys.chain(prompt, BS, null, null);
        index.addSource("w");
        index.addSource("v");
        index.stored("w", hashes(1L, 2L), null, slice(prompt, 0, 8), BS, null, null, Medium.GPU);
        index.speculateKeys("w", keys, 2, Duration.ofSeconds(2));
        index.speculateKeys("v", keys, 2, Duration.ofSeconds(2));
        assertThat(index.stats().speculative()).isEqualTo(2);
        // w: blocks 0-1 from its events, 2-3 guessed; v: nothing at the root, so no run at all
        assertThat(index.lookup(prompt, BS, null, null))
                .containsExactly(Map.entry("w", new KvIndex.Match(16, 16, Medium.GPU, true)));
    }

    @Test
    void speculationIsBounded() {
        KvIndex small = new KvIndex(now::get, 8); // at most 2 speculative entries
        small.addSource("w");
        small.speculate("w", tokens(16, 0), BS, null, null, Duration.ofSeconds(1));
        assertThat(small.stats().speculative()).isEqualTo(2);
        assertThat(small.speculationDropped()).isEqualTo(2);
        assertThat(small.lookup(tokens(16, 0), BS, null, null).get("w").tokens()).isEqualTo(8);
    }

    @Test
    void aStoreWithTheWrongTokenCountIsRefused() {
        assertThatThrownBy(() -> index.stored("w", hashes(1L, 2L), null, tokens(5, 0), BS, null, null, Medium.GPU))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5 token ids for 2 blocks");
    }

    @Test
    void keysDependOnEveryToken() {
        int[] a = tokens(16, 0);
        long[] ka = BlockKeys.chain(a, 16, null, null);
        for (int i = 0; i < 16; i++) {
            int[] b = a.clone();
            b[i]++;
            assertThat(BlockKeys.chain(b, 16, null, null)[0]).as("token %d", i).isNotEqualTo(ka[0]);
        }
        assertThat(BlockKeys.chain(a, 8, null, null)).hasSize(2);
        assertThat(BlockKeys.chain(a, 8, "x", null)[0]).isNotEqualTo(BlockKeys.chain(a, 8, null, null)[0]);
    }

    private static int[] slice(int[] a, int from, int to) {
        return java.util.Arrays.copyOfRange(a, from, to);
    }
}
