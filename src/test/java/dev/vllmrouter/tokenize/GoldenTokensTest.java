package dev.vllmrouter.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exactness: for every request of corpus.json (system prompts, tools, multi-turn history with tool calls and
 * results, CJK, emoji, accents, RTL text, long prompts, completions as text, batches and token ids), the router's
 * ids equal the oracle's (golden-<model>.json, written by scripts/tokenizer-oracle.sh from an independent JavaScript
 * implementation) on the real Qwen3 and Llama 3.1 tokenizer files. Runs offline.
 */
class GoldenTokensTest {
    private static final List<String> MODELS = List.of("qwen3", "llama3_1");

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

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (String model : MODELS) {
            for (JsonNode c : TokenizerFixtures.json("corpus.json").get("cases")) {
                all.add(Arguments.of(model, c.get("name").asText(), c.get("kind").asText(), c.get("request")));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void idsEqualTheOracles(String model, String name, String kind, JsonNode request) {
        PromptTokenizer tokenizer = model.equals("qwen3") ? qwen3 : llama;
        JsonNode golden = TokenizerFixtures.json("golden-" + model + ".json");
        int[] expected = TokenizerFixtures.JSON.convertValue(golden.get("ids").get(name), int[].class);
        if (kind.equals("chat")) {
            assertThat(tokenizer.chatPrompt(request)).as("prompt text of %s", name)
                    .isEqualTo(golden.get("prompts").get(name).asText());
            assertThat(tokenizer.chat(request)).as("ids of %s", name).containsExactly(expected);
        } else {
            assertThat(tokenizer.completion(request)).as("ids of %s", name).containsExactly(expected);
        }
    }

    @Test
    void theCorpusCoversLongPromptsBeyondDjlsDefaultTruncation() {
        JsonNode golden = TokenizerFixtures.json("golden-qwen3.json");
        assertThat(golden.get("ids").get("chat-long-history").size()).isGreaterThan(2048);
    }
}
