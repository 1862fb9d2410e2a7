package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link PrefixCacheModel}, {@link BlockLru} and {@link PromptText}: pure, no sockets. Texts are built from
 * 4-character tokens, so "n tokens" below means exactly 4n characters.
 */
class PrefixCacheModelTest {

    /** {@code n} distinct tokens tagged with {@code tag}: token i is {@code tag + 3 digits}. */
    private static String tokens(char tag, int n) {
        StringBuilder sb = new StringBuilder(n * 4);
        for (int i = 0; i < n; i++) {
            sb.append(tag).append((char) ('0' + i / 100 % 10)).append((char) ('0' + i / 10 % 10))
                    .append((char) ('0' + i % 10));
        }
        return sb.toString();
    }

    @Test
    void tokenCountIsOnePerFourCharactersRoundedUp() {
        assertThat(PrefixCacheModel.promptTokens("")).isEqualTo(1);
        assertThat(PrefixCacheModel.promptTokens("abcd")).isEqualTo(1);
        assertThat(PrefixCacheModel.promptTokens("abcde")).isEqualTo(2);
        assertThat(PrefixCacheModel.promptTokens(tokens('a', 16))).isEqualTo(16);
    }

    @Test
    void onlyFullBlocksOfSharedPrefixHit() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 64);
        String shared15 = tokens('s', 15);
        cache.lookupAndStore(shared15 + tokens('x', 40));
        assertThat(cache.lookupAndStore(shared15 + tokens('y', 40)).cachedTokens())
                .as("a 15-token shared prefix is no full block").isZero();

        String shared16 = tokens('t', 16);
        cache.lookupAndStore(shared16 + tokens('x', 40));
        PrefixCacheModel.Lookup hit = cache.lookupAndStore(shared16 + tokens('y', 40));
        assertThat(hit.cachedTokens()).as("a 16-token shared prefix is one full block").isEqualTo(16);
        assertThat(hit.promptTokens()).isEqualTo(56);
        assertThat(hit.uncachedTokens()).isEqualTo(40);

        String shared47 = tokens('u', 47);
        cache.lookupAndStore(shared47 + tokens('x', 10));
        assertThat(cache.lookupAndStore(shared47 + tokens('y', 10)).cachedTokens()).isEqualTo(32);
    }

    @Test
    void partialBlocksAndPartialTokensAreNotStored() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 64);
        String text = tokens('a', 31) + "xy"; // 31 full tokens + a partial one: 1 full block
        cache.lookupAndStore(text);
        assertThat(cache.usedBlocks()).isEqualTo(1);
        assertThat(cache.cachedPrefixTokens(tokens('a', 40))).isEqualTo(16);
        assertThat(cache.lookupAndStore("short").cachedTokens()).isZero();
        assertThat(cache.usedBlocks()).isEqualTo(1);
    }

    @Test
    void anIdenticalPromptRecomputesItsLastToken() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 64);
        String twoBlocks = tokens('a', 32);
        assertThat(cache.lookupAndStore(twoBlocks).cachedTokens()).isZero();
        assertThat(cache.lookupAndStore(twoBlocks).cachedTokens())
                .as("vLLM caps the hit at prompt_tokens - 1, rounded down to a block").isEqualTo(16);
        String longer = twoBlocks + "z";
        assertThat(cache.lookupAndStore(longer).cachedTokens()).isEqualTo(32);
        assertThat(cache.lookupAndStore(longer).cachedTokens()).isEqualTo(32);
    }

    @Test
    void blocksAreChainedOnTheirWholePrefix() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 64);
        String a = tokens('a', 16);
        String b = tokens('b', 16);
        String c = tokens('c', 16);
        String d = tokens('d', 16);
        String tail = tokens('z', 8);
        cache.lookupAndStore(a + c + tail);
        cache.lookupAndStore(b + d + tail);
        assertThat(cache.cachedPrefixTokens(b + c + tail))
                .as("block c is cached after a, not after b").isEqualTo(16);
        assertThat(cache.cachedPrefixTokens(c + tail)).as("block c at another position").isZero();
        assertThat(cache.cachedPrefixTokens(a + c + tail)).isEqualTo(32);
        assertThat(cache.usedBlocks()).isEqualTo(4);
    }

    @Test
    void evictsTheLeastRecentlyUsedBlock() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 4);
        List<String> prompts = new ArrayList<>();
        for (char tag = 'a'; tag <= 'e'; tag++) {
            prompts.add(tokens(tag, 17)); // one full block each, plus one token so a repeat can hit
        }
        for (int i = 0; i < 4; i++) {
            cache.lookupAndStore(prompts.get(i));
        }
        assertThat(cache.lookupAndStore(prompts.get(0)).cachedTokens()).as("refreshes a").isEqualTo(16);
        cache.lookupAndStore(prompts.get(4)); // full: evicts b, now the least recently used
        assertThat(cache.usedBlocks()).isEqualTo(4);
        assertThat(prompts.stream().map(cache::cachedPrefixTokens).toList()).containsExactly(16, 0, 16, 16, 16);
        cache.lookupAndStore(prompts.get(1)); // evicts c
        assertThat(prompts.stream().map(cache::cachedPrefixTokens).toList()).containsExactly(16, 16, 0, 16, 16);
    }

    @Test
    void readOnlyLookupDoesNotRefreshOrCount() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 2);
        String a = tokens('a', 17);
        String b = tokens('b', 17);
        cache.lookupAndStore(a);
        cache.lookupAndStore(b);
        long queried = cache.queriedTokens();
        assertThat(cache.cachedPrefixTokens(a)).isEqualTo(16); // does not make a the most recent
        assertThat(cache.queriedTokens()).isEqualTo(queried);
        cache.lookupAndStore(tokens('c', 17));
        assertThat(cache.cachedPrefixTokens(a)).isZero();
        assertThat(cache.cachedPrefixTokens(b)).isEqualTo(16);
    }

    @Test
    void underPressureTailBlocksGoBeforeTheirRoots() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 3);
        String chain = tokens('a', 16) + tokens('b', 16) + tokens('c', 16) + "!";
        cache.lookupAndStore(chain);
        cache.lookupAndStore(tokens('d', 17)); // evicts the chain's last block, not its root
        assertThat(cache.cachedPrefixTokens(chain)).isEqualTo(32);
    }

    @Test
    void aPromptLargerThanTheCacheKeepsItsFirstBlocks() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 2);
        String big = tokens('a', 5 * 16 + 3);
        cache.lookupAndStore(big);
        assertThat(cache.usedBlocks()).isEqualTo(2);
        assertThat(cache.lookupAndStore(big).cachedTokens()).isEqualTo(32);
    }

    @Test
    void resetDropsBlocksButCountersKeepCounting() {
        PrefixCacheModel cache = new PrefixCacheModel();
        String prompt = tokens('a', 40);
        cache.lookupAndStore(prompt);
        assertThat(cache.lookupAndStore(prompt).cachedTokens()).isEqualTo(32);
        cache.reset();
        assertThat(cache.usedBlocks()).isZero();
        assertThat(cache.cachedPrefixTokens(prompt)).isZero();
        assertThat(cache.lookupAndStore(prompt).cachedTokens()).isZero();
        assertThat(cache.queriedTokens()).isEqualTo(120);
        assertThat(cache.hitTokens()).isEqualTo(32);
        assertThat(cache.lookupAndStore(prompt).cachedTokens()).as("stored again after the miss").isEqualTo(32);
    }

    @Test
    void countersAndStatsAddUp() {
        PrefixCacheModel cache = new PrefixCacheModel(16, 100);
        assertThat(cache.stats()).isEqualTo(new PrefixCacheModel.Stats(0, 0, 0, 100));
        cache.lookupAndStore(tokens('a', 50));   // 50 queried, 0 hit, 3 blocks
        cache.lookupAndStore(tokens('a', 70));   // 70 queried, 48 hit, 4 blocks in all
        cache.lookupAndStore("tiny");            // 1 queried
        PrefixCacheModel.Stats stats = cache.stats();
        assertThat(stats.queriedTokens()).isEqualTo(121);
        assertThat(stats.hitTokens()).isEqualTo(48);
        assertThat(stats.usedBlocks()).isEqualTo(4);
        assertThat(stats.usage()).isEqualTo(0.04);
        assertThat(cache.blockSize()).isEqualTo(16);
        assertThat(cache.capacityBlocks()).isEqualTo(100);
    }

    @Test
    void otherBlockSizes() {
        PrefixCacheModel cache = new PrefixCacheModel(3, 100); // 12-character blocks: 3 full words per block
        String shared = tokens('a', 7);
        cache.lookupAndStore(shared + tokens('x', 5));
        assertThat(cache.lookupAndStore(shared + tokens('y', 5)).cachedTokens()).isEqualTo(6);
        PrefixCacheModel one = new PrefixCacheModel(1, 100);
        one.lookupAndStore("abcdefgh");
        assertThat(one.lookupAndStore("abcdefgX").cachedTokens()).isEqualTo(1);
        assertThat(one.lookupAndStore("abcdefghi").cachedTokens()).isEqualTo(2);
    }

    @Test
    void rejectsBadParameters() {
        assertThatThrownBy(() -> new PrefixCacheModel(0, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PrefixCacheModel(16, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void multiTurnConversationHitsEverythingThePreviousTurnStored() {
        PrefixCacheModel cache = new PrefixCacheModel();
        ArrayNode messages = SimClient.JSON.createArrayNode();
        messages.addObject().put("role", "system").put("content", "You are a helpful assistant. " + tokens('s', 30));
        SplittableRandom random = new SplittableRandom(7);
        int previousStored = 0;
        int previousHits = 0;
        for (int turn = 0; turn < 8; turn++) {
            ArrayNode parts = messages.addObject().put("role", "user").putArray("content");
            parts.addObject().put("type", "text").put("text", "Question " + turn + ": " + tokens('q', random.nextInt(5, 60)));
            parts.addObject().put("type", "image_url").putObject("image_url").put("url", "http://x/" + turn);
            String text = PromptText.chat(messages);
            PrefixCacheModel.Lookup lookup = cache.lookupAndStore(text);
            assertThat(lookup.cachedTokens()).as("turn %d", turn).isEqualTo(previousStored);
            assertThat(lookup.promptTokens()).isEqualTo(Tokens.fromChars(text.length()));
            previousHits += lookup.cachedTokens();
            previousStored = text.length() / 64 * 16;
            messages.addObject().put("role", "assistant").put("content", Tokens.fillerText(random.nextInt(1, 40)));
        }
        assertThat(previousStored).isPositive();
        assertThat(cache.hitTokens()).isEqualTo(previousHits);
    }

    @Test
    void chatRenderingIsATemplateOfTextParts() {
        JsonNode messages = SimClient.json("[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi \"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x\"}},{\"type\":\"text\",\"text\":\"there\"}]},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[]}]");
        assertThat(PromptText.chat(messages)).isEqualTo(
                "<|system|>\nBe brief.\n<|user|>\nHi there\n<|assistant|>\n\n<|assistant|>\n");
        assertThat(PromptText.chat(SimClient.json("[]"))).isEqualTo(PromptText.GENERATION_PROMPT);
        assertThat(PromptText.appendMessage(new StringBuilder(), "user", "x").toString()).isEqualTo("<|user|>\nx\n");
    }

    @Test
    void completionRenderingKeepsOneTokenPerTokenId() {
        assertThat(PromptText.completion(SimClient.json("\"The capital\""))).isEqualTo("The capital");
        String ids = PromptText.completion(SimClient.json("[1, 2, 70000]"));
        assertThat(ids).hasSize(12);
        assertThat(PrefixCacheModel.promptTokens(ids)).isEqualTo(3);
        assertThat(PromptText.completion(SimClient.json("[1, 2, 70001]"))).isNotEqualTo(ids);
        assertThat(PromptText.completion(SimClient.json("[\"ab\", \"cd\"]"))).isEqualTo("abcd");
    }

    @Test
    void concurrentAdmissionsKeepCountersConsistent() throws Exception {
        PrefixCacheModel cache = new PrefixCacheModel(16, 256);
        int threads = 16;
        int perThread = 200;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<long[]>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < threads; t++) {
                char tag = (char) ('A' + t % 4); // four shared conversations, so threads race on the same blocks
                results.add(pool.submit(() -> {
                    go.await();
                    long queried = 0;
                    long hits = 0;
                    for (int i = 0; i < perThread; i++) {
                        PrefixCacheModel.Lookup l = cache.lookupAndStore(tokens(tag, 20 + i % 50));
                        queried += l.promptTokens();
                        hits += l.cachedTokens();
                    }
                    return new long[] {queried, hits};
                }));
            }
            go.countDown();
            long queried = 0;
            long hits = 0;
            for (Future<long[]> f : results) {
                queried += f.get()[0];
                hits += f.get()[1];
            }
            assertThat(cache.queriedTokens()).as("no lost counter update").isEqualTo(queried);
            assertThat(cache.hitTokens()).as("no lost counter update").isEqualTo(hits);
            assertThat(cache.usedBlocks()).as("at most 4 chains of 4 blocks").isEqualTo(16);
        }
    }

    @Test
    void blockLruMatchesAnAccessOrderedLinkedHashMap() {
        SplittableRandom random = new SplittableRandom(42);
        for (int capacity : new int[] {1, 2, 5, 16, 100}) {
            BlockLru lru = new BlockLru(capacity);
            LinkedHashMap<Long, Boolean> reference = new LinkedHashMap<>(16, 0.75f, true);
            long[] pool = new long[capacity * 3 + 2];
            for (int i = 0; i < pool.length; i++) {
                pool[i] = random.nextLong(); // distinct in practice; low bits collide in the small table
            }
            pool[0] = 0; // 0 is an ordinary key: the table marks empty positions by slot, not by key
            for (int step = 0; step < 20_000; step++) {
                long key = pool[random.nextInt(pool.length)];
                if (random.nextInt(4) == 0) {
                    assertThat(lru.contains(key)).isEqualTo(reference.containsKey(key));
                } else {
                    lru.touch(key);
                    reference.put(key, Boolean.TRUE);
                    if (reference.size() > capacity) {
                        reference.pollFirstEntry();
                    }
                }
                assertThat(lru.size()).isEqualTo(reference.size());
                if (!reference.isEmpty()) {
                    assertThat(lru.eldest()).isEqualTo(reference.firstEntry().getKey());
                }
            }
            for (long key : pool) {
                assertThat(lru.contains(key)).as("capacity %d key %d", capacity, key)
                        .isEqualTo(reference.containsKey(key));
            }
            lru.clear();
            assertThat(lru.size()).isZero();
            assertThat(lru.contains(pool[1])).isFalse();
        }
    }
}
