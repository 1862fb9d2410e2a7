package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;

import static dev.vllmrouter.sim.SimClient.events;
import static dev.vllmrouter.sim.SimClient.json;
import static dev.vllmrouter.sim.SimWorkerRoutesTest.metric;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The worker's prefix-cache model seen through real sockets: {@code usage.prompt_tokens_details.cached_tokens},
 * the {@code vllm:prefix_cache_*} counters, {@code vllm:kv_cache_usage_perc} and {@code /reset_prefix_cache}.
 */
class SimPrefixCacheTest {
    private static final int CAPACITY = 64;
    private static final String LABELS = "{engine=\"0\",model_name=\"m\"}";
    private static final String MESSAGES = "[{\"role\":\"system\",\"content\":\"You are a careful assistant who answers "
            + "questions about the history of mathematics in detail.\"},{\"role\":\"user\",\"content\":"
            + "[{\"type\":\"text\",\"text\":\"Who proved the irrationality of the square root of two, and how?\"}]}]";
    private static final String CHAT = "{\"model\":\"m\",\"max_tokens\":2,\"messages\":" + MESSAGES + "}";
    private static final String PROMPT = "Once upon a time, in a land of routers and workers, a prefix cache kept "
            + "the keys and values of every prompt it had seen.";

    private static SimWorker worker;
    private static SimClient client;

    @BeforeAll
    static void start() {
        worker = SimWorker.start(SimConfig.builder().models("m").cacheBlocks(CAPACITY).build());
        client = new SimClient(worker);
    }

    @AfterAll
    static void stop() {
        worker.close();
    }

    @BeforeEach
    void emptyCache() {
        worker.prefixCache().reset();
    }

    /** The cached tokens a fresh model reports for the second of two identical prompts. */
    private static int expectedRepeatHit(String text) {
        PrefixCacheModel model = new PrefixCacheModel();
        model.lookupAndStore(text);
        return model.lookupAndStore(text).cachedTokens();
    }

    @Test
    void secondIdenticalChatReportsCachedTokensAndMovesTheCounters() {
        String text = PromptText.chat(json(MESSAGES));
        int promptTokens = PrefixCacheModel.promptTokens(text);
        int expected = expectedRepeatHit(text);
        assertThat(expected).as("the test prompt spans several blocks").isGreaterThanOrEqualTo(32);
        String before = client.get("/metrics").body();

        JsonNode first = json(client.postJson("/v1/chat/completions", CHAT));
        assertThat(first.at("/usage/prompt_tokens").asInt()).isEqualTo(promptTokens);
        assertThat(first.at("/usage/prompt_tokens_details").isNull()).as("a miss reports null").isTrue();
        JsonNode second = json(client.postJson("/v1/chat/completions", CHAT));
        assertThat(second.at("/usage/prompt_tokens").asInt()).isEqualTo(promptTokens);
        assertThat(second.at("/usage/prompt_tokens_details").toString())
                .isEqualTo("{\"cached_tokens\":" + expected + "}");

        String after = client.get("/metrics").body();
        assertThat(after)
                .contains("# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.\n"
                        + "# TYPE vllm:prefix_cache_queries_total counter\n")
                .contains("# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.\n"
                        + "# TYPE vllm:prefix_cache_hits_total counter\n");
        assertThat(metric(after, "vllm:prefix_cache_queries_total" + LABELS)
                - metric(before, "vllm:prefix_cache_queries_total" + LABELS)).isEqualTo(2.0 * promptTokens);
        assertThat(metric(after, "vllm:prefix_cache_hits_total" + LABELS)
                - metric(before, "vllm:prefix_cache_hits_total" + LABELS)).isEqualTo(expected);
        int blocks = text.length() / 64;
        assertThat(worker.prefixCache().usedBlocks()).isEqualTo(blocks);
        assertThat(metric(after, "vllm:kv_cache_usage_perc" + LABELS)).isEqualTo(blocks / (double) CAPACITY);
    }

    @Test
    void streamedChatCarriesCachedTokensOnlyInTheFinalUsage() {
        String body = "{\"model\":\"m\",\"max_tokens\":2,\"stream\":true,\"stream_options\":{\"include_usage\":true,"
                + "\"continuous_usage_stats\":true},\"messages\":" + MESSAGES + "}";
        client.postJson("/v1/chat/completions", body);
        List<String> events = events(client.postJson("/v1/chat/completions", body).body());
        assertThat(events).hasSize(1 + 2 + 1 + 1);
        for (String chunk : events.subList(0, 3)) {
            assertThat(json(chunk).at("/usage").has("prompt_tokens_details")).as(chunk).isFalse();
        }
        JsonNode usage = json(events.get(3)).get("usage");
        assertThat(usage.at("/prompt_tokens_details/cached_tokens").asInt())
                .isEqualTo(expectedRepeatHit(PromptText.chat(json(MESSAGES))));
        assertThat(usage.toString()).startsWith("{\"prompt_tokens\":").contains(",\"completion_tokens\":2,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":");
    }

    @Test
    void completionsHitTooAndAMissOmitsDetailsFromTheUsageChunk() {
        String stream = "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":1,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}";
        List<String> miss = events(client.postJson("/v1/completions", stream).body());
        assertThat(json(miss.get(1)).get("usage").has("prompt_tokens_details")).isFalse();
        JsonNode hit = json(client.postJson("/v1/completions", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":1}"));
        assertThat(hit.at("/usage/prompt_tokens").asInt()).isEqualTo(PrefixCacheModel.promptTokens(PROMPT));
        assertThat(hit.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(expectedRepeatHit(PROMPT))
                .isPositive();
        List<String> streamedHit = events(client.postJson("/v1/completions", stream).body());
        assertThat(json(streamedHit.get(1)).at("/usage/prompt_tokens_details/cached_tokens").asInt())
                .isEqualTo(expectedRepeatHit(PROMPT));
    }

    @Test
    void resetPrefixCacheMakesTheNextRequestMiss() {
        client.postJson("/v1/chat/completions", CHAT);
        assertThat(json(client.postJson("/v1/chat/completions", CHAT)).at("/usage/prompt_tokens_details/cached_tokens")
                .asInt()).isPositive();
        HttpResponse<String> reset = client.post("/reset_prefix_cache", null, new byte[0]);
        assertThat(reset.statusCode()).isEqualTo(200);
        assertThat(worker.prefixCache().usedBlocks()).isZero();
        assertThat(metric(client.get("/metrics").body(), "vllm:kv_cache_usage_perc" + LABELS)).isZero();
        assertThat(json(client.postJson("/v1/chat/completions", CHAT)).at("/usage/prompt_tokens_details").isNull())
                .as("the first request after a reset misses").isTrue();
        assertThat(json(client.postJson("/v1/chat/completions", CHAT)).at("/usage/prompt_tokens_details/cached_tokens")
                .asInt()).isPositive();
    }

    @Test
    void withDetailsDisabledTheFieldIsNullButTheCacheStillCounts() {
        try (SimWorker plain = SimWorker.start(SimConfig.builder().models("m").enablePromptTokensDetails(false).build())) {
            SimClient c = new SimClient(plain);
            c.postJson("/v1/chat/completions", CHAT);
            JsonNode second = json(c.postJson("/v1/chat/completions", CHAT));
            assertThat(second.get("usage").has("prompt_tokens_details")).isTrue();
            assertThat(second.at("/usage/prompt_tokens_details").isNull()).isTrue();
            List<String> events = events(c.postJson("/v1/chat/completions", "{\"model\":\"m\",\"max_tokens\":1,"
                    + "\"stream\":true,\"stream_options\":{},\"messages\":" + MESSAGES + "}").body());
            assertThat(json(events.get(2)).get("usage").has("prompt_tokens_details")).isFalse();
            int expected = expectedRepeatHit(PromptText.chat(json(MESSAGES)));
            assertThat(plain.prefixCache().hitTokens()).isEqualTo(2L * expected);
            assertThat(metric(c.get("/metrics").body(), "vllm:prefix_cache_hits_total" + LABELS))
                    .isEqualTo(2.0 * expected);
        }
    }

    @Test
    void tokenizeCountsChatsLikeUsage() {
        JsonNode tok = json(client.postJson("/tokenize", "{\"model\":\"m\",\"messages\":" + MESSAGES + "}"));
        JsonNode chat = json(client.postJson("/v1/chat/completions", CHAT));
        assertThat(tok.get("count").asInt()).isEqualTo(chat.at("/usage/prompt_tokens").asInt());
    }

    @Test
    void configCarriesTheCacheSettings() {
        SimConfig config = worker.config();
        assertThat(config.cacheBlocks()).isEqualTo(CAPACITY);
        assertThat(config.blockSize()).isEqualTo(16);
        assertThat(config.enablePromptTokensDetails()).isTrue();
        assertThat(config.toBuilder().build()).isEqualTo(config);
        assertThat(worker.prefixCache().capacityBlocks()).isEqualTo(CAPACITY);
        assertThat(worker.prefixCache().blockSize()).isEqualTo(16);
    }
}
