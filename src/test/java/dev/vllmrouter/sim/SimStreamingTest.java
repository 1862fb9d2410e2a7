package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.List;

import static dev.vllmrouter.sim.SimClient.events;
import static dev.vllmrouter.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;

/** SSE framing and chunk order of streamed chat and text completions, as vLLM sends them. */
class SimStreamingTest {
    private static SimWorker worker;
    private static SimClient client;

    @BeforeAll
    static void start() {
        worker = SimWorker.start(SimConfig.builder().models("m1").defaultMaxTokens(2).build());
        client = new SimClient(worker);
    }

    @AfterAll
    static void stop() {
        worker.close();
    }

    @Test
    void chatStreamOrderWithLengthLimitAndUsage() {
        HttpResponse<String> res = client.postJson("/v1/chat/completions",
                "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}],\"max_tokens\":3,"
                        + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                "X-Request-Id", "stream-1");
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValue("text/event-stream; charset=utf-8");
        List<String> events = events(res.body());
        assertThat(events).hasSize(1 + 3 + 1 + 1); // role, 3 tokens (last has finish), usage, [DONE]
        assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");

        JsonNode role = json(events.get(0));
        assertThat(role.get("id").asText()).isEqualTo("chatcmpl-stream-1");
        assertThat(role.get("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(role.get("model").asText()).isEqualTo("m1");
        JsonNode roleChoice = role.at("/choices/0");
        assertThat(roleChoice.get("delta").toString()).isEqualTo("{\"role\":\"assistant\",\"content\":\"\"}");
        assertThat(roleChoice.get("finish_reason").isNull()).isTrue();
        assertThat(roleChoice.has("stop_reason")).as("unset in chat chunks").isFalse();
        assertThat(role.has("usage")).isFalse();

        StringBuilder text = new StringBuilder();
        for (int i = 1; i <= 3; i++) {
            JsonNode chunk = json(events.get(i));
            assertThat(chunk.get("id").asText()).isEqualTo("chatcmpl-stream-1");
            assertThat(chunk.get("created").asLong()).isEqualTo(role.get("created").asLong());
            JsonNode choice = chunk.at("/choices/0");
            assertThat(choice.get("delta").size()).isEqualTo(1);
            text.append(choice.at("/delta/content").asText());
            if (i < 3) {
                assertThat(choice.get("finish_reason").isNull()).isTrue();
                assertThat(choice.has("stop_reason")).isFalse();
            } else {
                assertThat(choice.get("finish_reason").asText()).isEqualTo("length");
                assertThat(choice.get("stop_reason").isNull()).isTrue();
            }
        }
        assertThat(text.toString()).isEqualTo(" token0 token1 token2");

        JsonNode usage = json(events.get(4));
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.get("id").asText()).isEqualTo("chatcmpl-stream-1");
        assertThat(usage.get("usage").toString())
                // "<|user|>\n12345678\n<|assistant|>\n": 32 chars, 8 tokens, no full block so never cached
                .isEqualTo("{\"prompt_tokens\":8,\"total_tokens\":11,\"completion_tokens\":3}");
        assertThat(res.body()).endsWith("data: [DONE]\n\n");
    }

    @Test
    void chatStreamWithoutLimitEndsWithStopChunkAndNoUsage() {
        HttpResponse<String> res = client.postJson("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}");
        List<String> events = events(res.body());
        assertThat(events).hasSize(1 + 2 + 1 + 1); // role, 2 default tokens, stop chunk, [DONE]
        JsonNode stop = json(events.get(3));
        assertThat(stop.at("/choices/0/delta").toString()).isEqualTo("{\"content\":\"\"}");
        assertThat(stop.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(stop.at("/choices/0/stop_reason").isNull()).isTrue();
        assertThat(stop.get("id").asText()).matches("chatcmpl-[0-9a-f]{32}");
        for (String e : events.subList(0, 4)) {
            assertThat(json(e).has("usage")).isFalse();
        }
    }

    @Test
    void includeUsageDefaultsToTrueAndContinuousUsageIsOnEveryChunk() {
        HttpResponse<String> res = client.postJson("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"}],\"max_tokens\":2,\"stream\":true,"
                        + "\"stream_options\":{\"continuous_usage_stats\":true}}");
        List<String> events = events(res.body());
        assertThat(events).hasSize(1 + 2 + 1 + 1);
        assertThat(json(events.get(0)).at("/usage/completion_tokens").asInt()).isZero();
        assertThat(json(events.get(1)).at("/usage/completion_tokens").asInt()).isEqualTo(1);
        assertThat(json(events.get(2)).at("/usage/completion_tokens").asInt()).isEqualTo(2);
        assertThat(json(events.get(2)).at("/usage/total_tokens").asInt()).isEqualTo(9); // 28 chars = 7, + 2
        assertThat(json(events.get(3)).get("choices")).isEmpty();

        HttpResponse<String> plain = client.postJson("/v1/chat/completions",
                "{\"messages\":[],\"max_tokens\":1,\"stream\":true,\"stream_options\":{}}");
        List<String> plainEvents = events(plain.body());
        assertThat(plainEvents).hasSize(1 + 1 + 1 + 1);
        assertThat(json(plainEvents.get(2)).get("choices")).isEmpty();
        assertThat(json(plainEvents.get(1)).has("usage")).isFalse();
    }

    @Test
    void completionStreamHasNoRoleChunkAndNullUsageOnEachChunk() {
        HttpResponse<String> res = client.postJson("/v1/completions",
                "{\"prompt\":\"Say something\",\"max_tokens\":2,\"stream\":true,"
                        + "\"stream_options\":{\"include_usage\":true}}",
                "X-Request-Id", "c-7");
        assertThat(res.headers().firstValue("content-type")).hasValue("text/event-stream; charset=utf-8");
        List<String> events = events(res.body());
        assertThat(events).hasSize(2 + 1 + 1);
        JsonNode first = json(events.get(0));
        assertThat(first.get("id").asText()).isEqualTo("cmpl-c-7");
        assertThat(first.get("object").asText()).isEqualTo("text_completion");
        assertThat(first.get("usage").isNull()).isTrue();
        JsonNode choice = first.at("/choices/0");
        assertThat(choice.get("text").asText()).isEqualTo(" token0");
        for (String f : List.of("logprobs", "finish_reason", "stop_reason", "prompt_token_ids", "token_ids")) {
            assertThat(choice.has(f)).as(f).isTrue();
            assertThat(choice.get(f).isNull()).as(f).isTrue();
        }
        JsonNode last = json(events.get(1));
        assertThat(last.at("/choices/0/text").asText()).isEqualTo(" token1");
        assertThat(last.at("/choices/0/finish_reason").asText()).isEqualTo("length");
        JsonNode usage = json(events.get(2));
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(2);
        assertThat(usage.at("/usage/prompt_tokens").asInt()).isEqualTo(4);
        assertThat(events.get(3)).isEqualTo("[DONE]");
    }

    @Test
    void completionStreamWithoutLimitEndsWithEmptyStopChunk() {
        List<String> events = events(client.postJson("/v1/completions",
                "{\"prompt\":\"x\",\"stream\":true}").body());
        assertThat(events).hasSize(2 + 1 + 1);
        JsonNode stop = json(events.get(2));
        assertThat(stop.at("/choices/0/text").asText()).isEmpty();
        assertThat(stop.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(stop.get("usage").isNull()).isTrue();
    }

    @Test
    void streamOptionsWithoutStreamIsRejected() {
        HttpResponse<String> res = client.postJson("/v1/chat/completions",
                "{\"messages\":[],\"stream_options\":{\"include_usage\":true}}");
        assertThat(res.statusCode()).isEqualTo(400);
        assertThat(json(res).at("/error/type").asText()).isEqualTo("BadRequestError");
        assertThat(json(res).at("/error/code").asInt()).isEqualTo(400);
    }

    @Test
    void wireBytesAreChunkedSseEventsFlushedOneByOne() throws IOException {
        try (SimClient.RawConnection raw = client.raw("/v1/completions",
                "{\"prompt\":\"x\",\"max_tokens\":2,\"stream\":true}")) {
            String wire = raw.readUntil("0\r\n\r\n");
            assertThat(wire).startsWith("HTTP/1.1 200 OK\r\n")
                    .contains("Content-Type: text/event-stream; charset=utf-8\r\n")
                    .contains("Transfer-Encoding: chunked\r\n");
            String firstChunkBody = wire.substring(wire.indexOf("\r\n\r\n") + 4);
            // one HTTP chunk per SSE event: "<hex len>\r\ndata: {...}\n\n\r\n"
            int crlf = firstChunkBody.indexOf("\r\n");
            int len = Integer.parseInt(firstChunkBody.substring(0, crlf), 16);
            String chunk = firstChunkBody.substring(crlf + 2, crlf + 2 + len);
            assertThat(chunk).startsWith("data: {").endsWith("}\n\n");
            assertThat(chunk.indexOf("data: ", 1)).isNegative();
            assertThat(wire).contains("data: [DONE]\n\n\r\n0\r\n\r\n");
        }
    }
}
