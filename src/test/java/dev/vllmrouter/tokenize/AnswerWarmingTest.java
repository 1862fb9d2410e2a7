package dev.vllmrouter.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Clock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker's answer encoded when it is complete ({@link PromptTokenizer#warmAnswer}) leaves the conversation's next
 * turn only its new question to encode, with the same ids as encoding the whole prompt.
 */
class AnswerWarmingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static PromptTokenizer qwen3;
    static PromptTokenizer llama;

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

    private static JsonNode chat(String... roleContent) {
        ObjectNode request = JSON.createObjectNode().put("model", "m");
        ArrayNode messages = request.putArray("messages");
        for (int i = 0; i < roleContent.length; i += 2) {
            messages.addObject().put("role", roleContent[i]).put("content", roleContent[i + 1]);
        }
        return request;
    }

    @Test
    void theTemplatesWrapOfAnEarlierAnswerIsLearned() {
        assertThat(qwen3.answerWrap()).contains(new AnswerWrap("assistant\n", "<|im_end|>"));
        assertThat(llama.answerWrap()).contains(new AnswerWrap("\n\n", "<|eot_id|>"));
    }

    @Test
    void aWarmedAnswerLeavesOnlyTheNewQuestionToEncode() {
        for (PromptTokenizer t : new PromptTokenizer[] {qwen3, llama}) {
            String system = "You are a careful assistant. " + t.directory().getFileName();
            String answer = "Prefix caches keep the KV blocks of earlier prompts; a router that knows where they are "
                    + "sends the next turn there. Naïve routing — spreading by load — recomputes them.";
            t.chat(chat("system", system, "user", "What is a prefix cache?"));
            assertThat(t.warmAnswer(answer)).as("encoded ahead").isTrue();
            assertThat(t.warmAnswer(answer)).as("already cached").isFalse();
            long missesBefore = t.cacheStats().misses();
            JsonNode next = chat("system", system, "user", "What is a prefix cache?", "assistant", answer,
                    "user", "And across router replicas?");
            int[] ids = t.chat(next);
            assertThat(t.cacheStats().misses() - missesBefore).as("%s: segments encoded for the next turn",
                    t.directory().getFileName()).isEqualTo(1);
            assertThat(ids).isEqualTo(t.encodeWhole(t.chatPrompt(next), false));
        }
    }

    @Test
    void withoutWarmingTheNextTurnEncodesTheAnswerToo() {
        String answer = "An answer nobody warmed, about eviction order and block hashes.";
        qwen3.chat(chat("user", "Tell me about eviction."));
        long missesBefore = qwen3.cacheStats().misses();
        qwen3.chat(chat("user", "Tell me about eviction.", "assistant", answer, "user", "Which order?"));
        assertThat(qwen3.cacheStats().misses() - missesBefore).isEqualTo(2);
    }
}
