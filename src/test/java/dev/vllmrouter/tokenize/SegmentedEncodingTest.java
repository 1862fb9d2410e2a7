package dev.vllmrouter.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * History reuse is exact: on the real Qwen3 and Llama 3.1 files, encoding a text segment by segment (cut after
 * special tokens, each segment through the cache) gives the ids of DJL's encoding of the whole text, for every
 * prompt of the corpus, cold and warm, and for random texts built to stress the cut points (special tokens next to
 * each other, at the ends, inside whitespace runs, before combining marks, partial tokens, non-special added
 * tokens), cut at random subsets of the cut points. And where the proof does not hold the tokenizer refuses.
 */
class SegmentedEncodingTest {
    @TempDir
    static Path dir;

    private static PromptTokenizer qwen3;
    private static PromptTokenizer llama;

    @BeforeAll
    static void load() {
        qwen3 = PromptTokenizer.load(TokenizerFixtures.modelDirectory("qwen3", dir), Clock.systemUTC());
        llama = PromptTokenizer.load(TokenizerFixtures.modelDirectory("llama3_1", dir), Clock.systemUTC());
    }

    @AfterAll
    static void close() {
        qwen3.close();
        llama.close();
    }

    private static PromptTokenizer tokenizer(String model) {
        return model.equals("qwen3") ? qwen3 : llama;
    }

    @Test
    void bothModelsAreCutAfterTheirChatMarkersOnly() {
        assertThat(qwen3.segmentRefusal()).isEmpty();
        assertThat(llama.segmentRefusal()).isEmpty();
        assertThat(qwen3.cutTokens()).contains("<|im_start|>", "<|im_end|>", "<|endoftext|>")
                .doesNotContain("<think>", "<tool_call>"); // added, but not special
        assertThat(llama.cutTokens()).contains("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eot_id|>", "<|end_of_text|>");
    }

    static Stream<Arguments> corpusTexts() {
        List<Arguments> all = new ArrayList<>();
        for (String model : List.of("qwen3", "llama3_1")) {
            for (JsonNode c : TokenizerFixtures.json("corpus.json").get("cases")) {
                all.add(Arguments.of(model, c.get("name").asText(), c.get("kind").asText(), c.get("request")));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("corpusTexts")
    void corpusPromptsEncodeAsTheWholeTextColdAndWarm(String model, String name, String kind, JsonNode request) {
        PromptTokenizer tokenizer = tokenizer(model);
        List<String> texts = new ArrayList<>();
        if (kind.equals("chat")) {
            texts.add(tokenizer.chatPrompt(request));
        } else {
            JsonNode prompt = request.get("prompt");
            (prompt.isArray() ? prompt : List.of(prompt)).forEach(p -> {
                if (p.isTextual()) {
                    texts.add(p.asText());
                }
            });
        }
        for (String text : texts) {
            int[] expected = tokenizer.encodeWithDjl(text, false);
            assertThat(tokenizer.encodeWhole(text, false)).as("ids only, whole").containsExactly(expected);
            assertThat(tokenizer.encodeWhole(text, true)).as("ids only, special tokens")
                    .containsExactly(tokenizer.encodeWithDjl(text, true));
            tokenizer.clearSegmentCache();
            assertThat(tokenizer.encode(text, false)).as("segments, cold").containsExactly(expected);
            assertThat(tokenizer.encode(text, false)).as("segments, warm").containsExactly(expected);
            if (kind.equals("chat")) {
                assertThat(tokenizer.segmentEnds(text).length).as("a chat prompt is cut").isGreaterThan(1);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama3_1"})
    void randomTextsCutAtRandomSubsetsOfTheCutPointsEncodeAsTheWhole(String model) {
        PromptTokenizer tokenizer = tokenizer(model);
        List<String> fragments = fragments(tokenizer);
        SplittableRandom random = new SplittableRandom(20261207L + model.hashCode());
        int cutTexts = 0;
        for (int n = 0; n < 400; n++) {
            StringBuilder text = new StringBuilder();
            int parts = 1 + random.nextInt(12);
            for (int i = 0; i < parts; i++) {
                text.append(fragments.get(random.nextInt(fragments.size())));
            }
            String t = text.toString();
            int[] expected = tokenizer.encodeWithDjl(t, false);
            assertThat(tokenizer.encode(t, false)).as("segments of %s", t).containsExactly(expected);
            int[] ends = tokenizer.segmentEnds(t);
            cutTexts += ends.length > 1 ? 1 : 0;
            // any subset of the cut points is a valid cut
            List<Integer> chosen = new ArrayList<>();
            for (int end : ends) {
                if (end == t.length() || random.nextBoolean()) {
                    chosen.add(end);
                }
            }
            List<Integer> ids = new ArrayList<>();
            int from = 0;
            for (int end : chosen) {
                for (int id : tokenizer.encodeWhole(t.substring(from, end), false)) {
                    ids.add(id);
                }
                from = end;
            }
            assertThat(ids).as("cut at %s: %s", chosen, t).containsExactly(box(expected));
        }
        assertThat(cutTexts).as("texts with a cut point").isGreaterThan(300);
    }

    /** Pieces of text that meet at the cut points in every way: tokens, near-tokens, whitespace, marks, prose. */
    private static List<String> fragments(PromptTokenizer tokenizer) {
        List<String> out = new ArrayList<>(tokenizer.cutTokens().subList(0, Math.min(12, tokenizer.cutTokens().size())));
        out.addAll(List.of("<|im_start|>", "<|im_end|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
                "<think>", "</think>", "<tool_call>", "<|im_", "|>", "<|", "<", "<|eot_id", "im_end|>",
                "\n", " ", "  ", "\t", "\n\n", " \n ", "\r\n", "\u0301", "e\u0301", "\u00e9", "ǅ", "ﬁ",
                "user\n", "assistant\n", "system", "Hello, world!", "  leading", "trailing  ", "12345", "3.14",
                "缓存路由器", "😀😀", "مرحبا", "naïve café", "'s", "'ll", "don't", "\"quoted\"", "{\"a\": 1}",
                "def f(x):\n    return x\n", "ÀÁÂ", "\u200b", "\u00a0"));
        // pieces of real prompts, cut anywhere
        SplittableRandom random = new SplittableRandom(7);
        for (JsonNode c : TokenizerFixtures.json("corpus.json").get("cases")) {
            if (c.get("kind").asText().equals("chat")) {
                String prompt = tokenizer.chatPrompt(c.get("request"));
                for (int i = 0; i < 4 && prompt.length() > 2; i++) {
                    int a = random.nextInt(prompt.length() - 1);
                    int b = Math.min(prompt.length(), a + 1 + random.nextInt(200));
                    out.add(prompt.substring(a, b));
                }
            }
        }
        return out;
    }

    private static Integer[] box(int[] ids) {
        return IntStream.of(ids).boxed().toArray(Integer[]::new);
    }

    @Test
    void aNewTurnEncodesOnlyTheSegmentsThePreviousTurnDidNotHave() {
        PromptTokenizer tokenizer = PromptTokenizer.load(dir.resolve("qwen3"), Clock.systemUTC());
        try {
            ObjectNode previous = (ObjectNode) TokenizerFixtures.json("corpus.json").get("cases").get(2)
                    .get("request").deepCopy();
            assertThat(previous.get("messages").size()).isGreaterThanOrEqualTo(3);
            ObjectNode next = previous.deepCopy();
            ArrayNode messages = (ArrayNode) next.get("messages");
            messages.addObject().put("role", "assistant").put("content", "An answer the router never saw.");
            messages.addObject().put("role", "user").put("content", "And a new question?");
            String before = tokenizer.chatPrompt(previous);
            String after = tokenizer.chatPrompt(next);
            Set<String> known = new HashSet<>(segments(tokenizer, before));
            Set<String> fresh = new HashSet<>(segments(tokenizer, after));
            fresh.removeAll(known);
            assertThat(fresh).isNotEmpty();

            tokenizer.chat(previous);
            PromptTokenizer.CacheStats first = tokenizer.cacheStats();
            int[] ids = tokenizer.chat(next);
            PromptTokenizer.CacheStats second = tokenizer.cacheStats();

            assertThat(ids).containsExactly(tokenizer.encodeWithDjl(after, false));
            assertThat(second.misses() - first.misses()).as("segments encoded for the new turn")
                    .isEqualTo(fresh.size());
            assertThat(second.hits() - first.hits()).isEqualTo(segments(tokenizer, after).size() - fresh.size());
        } finally {
            tokenizer.close();
        }
    }

    private static List<String> segments(PromptTokenizer tokenizer, String text) {
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int end : tokenizer.segmentEnds(text)) {
            out.add(text.substring(from, end));
            from = end;
        }
        return out;
    }

    @Test
    void theCacheStaysWithinItsBoundAndStillGivesExactIds() {
        PromptTokenizer tokenizer = PromptTokenizer.load(dir.resolve("llama3_1"), Clock.systemUTC(), 4_000);
        try {
            JsonNode golden = TokenizerFixtures.json("golden-llama3_1.json");
            for (JsonNode c : TokenizerFixtures.json("corpus.json").get("cases")) {
                if (c.get("kind").asText().equals("chat")) {
                    int[] expected = TokenizerFixtures.JSON.convertValue(
                            golden.get("ids").get(c.get("name").asText()), int[].class);
                    assertThat(tokenizer.chat(c.get("request"))).containsExactly(expected);
                    assertThat(tokenizer.cacheStats().bytes()).isLessThanOrEqualTo(4_000);
                }
            }
            assertThat(tokenizer.cacheStats().evictions()).isPositive();
            assertThat(tokenizer.cacheStats().capacityBytes()).isEqualTo(4_000);
        } finally {
            tokenizer.close();
        }
    }

    @Test
    void aTokenThatStripsWhitespaceAroundItIsNotCutAt() throws IOException {
        // <|im_end|> with rstrip: its match swallows the whitespace after it, so "a<|im_end|>" + "  b" would be
        // encoded differently from the whole; the tokenizer must notice and encode whole
        Path copy = dir.resolve("qwen3-rstrip");
        Files.createDirectories(copy);
        ObjectNode json;
        try (InputStream in = Files.newInputStream(dir.resolve("qwen3").resolve("tokenizer.json"))) {
            json = (ObjectNode) TokenizerFixtures.JSON.readTree(in);
        }
        for (JsonNode token : json.get("added_tokens")) {
            if (token.get("content").asText().equals("<|im_end|>")) {
                ((ObjectNode) token).put("rstrip", true);
            }
        }
        TokenizerFixtures.JSON.writeValue(copy.resolve("tokenizer.json").toFile(), json);
        Files.copy(dir.resolve("qwen3").resolve("tokenizer_config.json"), copy.resolve("tokenizer_config.json"));
        PromptTokenizer stripping = PromptTokenizer.load(copy, Clock.systemUTC());
        try {
            String text = "a<|im_end|>\n  b";
            int[] whole = stripping.encodeWithDjl(text, false);
            int[] naive = concat(stripping.encodeWhole("a<|im_end|>", false), stripping.encodeWhole("\n  b", false));
            assertThat(naive).as("cutting there would be wrong").isNotEqualTo(whole);
            assertThat(stripping.segmentRefusal()).hasValueSatisfying(r -> assertThat(r).contains("rstrip"));
            assertThat(stripping.encode(text, false)).containsExactly(whole);
        } finally {
            stripping.close();
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void djlsGpuProbeWarningIsSilencedButNotItsErrors() {
        Logger probe = Logger.getLogger("ai.djl.util.cuda.CudaUtils");
        probe.setLevel(null);
        PromptTokenizer.load(dir.resolve("qwen3"), Clock.systemUTC(), 0).close();
        assertThat(probe.getLevel()).isEqualTo(Level.SEVERE);
        assertThat(probe.isLoggable(Level.WARNING)).isFalse();
        assertThat(probe.isLoggable(Level.SEVERE)).isTrue();
    }
}
