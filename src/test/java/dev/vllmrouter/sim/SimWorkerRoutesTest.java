package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static dev.vllmrouter.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Each route of the simulated worker answers in vLLM's shape, and every request is recorded. */
class SimWorkerRoutesTest {
    private static SimWorker worker;
    private static SimClient client;

    @BeforeAll
    static void start() {
        worker = SimWorker.start(SimConfig.builder().models("llama", "qwen").defaultMaxTokens(5).build());
        client = new SimClient(worker);
    }

    @AfterAll
    static void stop() {
        worker.close();
    }

    @BeforeEach
    void reset() {
        worker.faults().reset();
        worker.log().clear();
    }

    @Test
    void chatCompletionHasEveryVllmField() {
        HttpResponse<String> res = client.postJson("/v1/chat/completions",
                "{\"model\":\"qwen\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, how are you?\"}],"
                        + "\"max_tokens\":3}");
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(res.headers().firstValue("x-request-id")).isEmpty();
        JsonNode body = json(res);
        assertThat(body.get("id").asText()).matches("chatcmpl-[0-9a-f]{32}");
        assertThat(body.get("object").asText()).isEqualTo("chat.completion");
        assertThat(body.get("created").asLong()).isPositive();
        assertThat(body.get("model").asText()).isEqualTo("qwen");
        assertThat(body.get("service_tier").isNull()).isTrue();
        assertThat(body.get("system_fingerprint").isNull()).isTrue();
        assertThat(body.get("prompt_logprobs").isNull()).isTrue();
        assertThat(body.get("prompt_token_ids").isNull()).isTrue();
        assertThat(body.get("kv_transfer_params").isNull()).isTrue();
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("index").asInt()).isZero();
        assertThat(choice.get("finish_reason").asText()).isEqualTo("length");
        assertThat(choice.get("stop_reason").isNull()).isTrue();
        assertThat(choice.get("logprobs").isNull()).isTrue();
        assertThat(choice.get("token_ids").isNull()).isTrue();
        JsonNode message = choice.get("message");
        assertThat(message.get("role").asText()).isEqualTo("assistant");
        assertThat(message.get("content").asText()).isEqualTo(" token0 token1 token2");
        assertThat(message.get("tool_calls").isArray()).isTrue();
        assertThat(message.get("tool_calls")).isEmpty();
        for (String f : List.of("refusal", "annotations", "audio", "function_call", "reasoning_content")) {
            assertThat(message.get(f)).as(f).isNotNull();
            assertThat(message.get(f).isNull()).as(f).isTrue();
        }
        JsonNode usage = body.get("usage");
        int prompt = usage.get("prompt_tokens").asInt();
        assertThat(prompt).isPositive();
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(3);
        assertThat(usage.get("total_tokens").asInt()).isEqualTo(prompt + 3);
        assertThat(usage.get("prompt_tokens_details").isNull()).isTrue();
    }

    @Test
    void chatWithoutLimitUsesDefaultLengthAndStops() {
        JsonNode body = json(client.postJson("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        assertThat(body.get("model").asText()).as("first served model answers").isEqualTo("llama");
        assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void maxCompletionTokensWinsOverMaxTokensForChat() {
        JsonNode body = json(client.postJson("/v1/chat/completions",
                "{\"model\":\"\",\"messages\":[],\"max_tokens\":9,\"max_completion_tokens\":2}"));
        assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(2);
        assertThat(body.get("model").asText()).isEqualTo("llama");
    }

    @Test
    void completionHasEveryVllmFieldAndUsesRequestIdHeader() {
        HttpResponse<String> res = client.postJson("/v1/completions",
                "{\"model\":\"llama\",\"prompt\":\"The capital of France is\",\"max_tokens\":4}",
                "X-Request-Id", "abc-123");
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode body = json(res);
        assertThat(body.get("id").asText()).isEqualTo("cmpl-abc-123");
        assertThat(body.get("object").asText()).isEqualTo("text_completion");
        JsonNode choice = body.at("/choices/0");
        assertThat(choice.get("text").asText()).isEqualTo(" token0 token1 token2 token3");
        assertThat(choice.get("finish_reason").asText()).isEqualTo("length");
        for (String f : List.of("logprobs", "stop_reason", "prompt_logprobs", "prompt_token_ids", "token_ids")) {
            assertThat(choice.get(f).isNull()).as(f).isTrue();
        }
        assertThat(body.get("kv_transfer_params").isNull()).isTrue();
        assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(6); // 24 chars / 4
        assertThat(body.at("/usage/total_tokens").asInt()).isEqualTo(10);
        assertThat(worker.log().awaitRequest(SimClient.TIMEOUT).requestId()).isEqualTo("abc-123");
    }

    @Test
    void prefillRequestGetsKvTransferParams() {
        JsonNode body = json(client.postJson("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1,"
                + "\"kv_transfer_params\":{\"do_remote_decode\":true,\"do_remote_prefill\":false}}",
                "X-Request-Id", "pd-1"));
        JsonNode kv = body.get("kv_transfer_params");
        assertThat(kv.get("do_remote_prefill").asBoolean()).isTrue();
        assertThat(kv.get("do_remote_decode").asBoolean()).isFalse();
        assertThat(kv.get("remote_block_ids")).isNotEmpty();
        assertThat(kv.get("remote_engine_id").asText()).isEqualTo(worker.workerId());
        assertThat(kv.get("remote_host").asText()).isEqualTo("127.0.0.1");
        assertThat(kv.get("remote_port").asInt()).isEqualTo(5600);
    }

    @Test
    void modelsListsOneCardPerServedModel() {
        JsonNode body = json(client.get("/v1/models"));
        assertThat(body.get("object").asText()).isEqualTo("list");
        assertThat(body.get("data")).hasSize(2);
        JsonNode card = body.get("data").get(1);
        assertThat(card.get("id").asText()).isEqualTo("qwen");
        assertThat(card.get("object").asText()).isEqualTo("model");
        assertThat(card.get("owned_by").asText()).isEqualTo("vllm");
        assertThat(card.get("root").asText()).isEqualTo("qwen");
        assertThat(card.get("parent").isNull()).isTrue();
        assertThat(card.get("max_model_len").asInt()).isEqualTo(8192);
        JsonNode perm = card.get("permission").get(0);
        assertThat(perm.get("id").asText()).startsWith("modelperm-");
        assertThat(perm.get("object").asText()).isEqualTo("model_permission");
        assertThat(perm.get("group").isNull()).isTrue();
    }

    @Test
    void smallEndpoints() {
        HttpResponse<String> health = client.get("/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEmpty();
        assertThat(client.get("/ping").statusCode()).isEqualTo(200);
        assertThat(client.post("/ping", null, new byte[0]).statusCode()).isEqualTo(200);
        assertThat(json(client.get("/load")).get("server_load").asInt()).isZero();
        assertThat(json(client.get("/version")).get("version").asText()).isEqualTo("0.11.0-sim");
        HttpResponse<String> reset = client.post("/reset_prefix_cache", null, new byte[0]);
        assertThat(reset.statusCode()).isEqualTo(200);
        assertThat(reset.body()).isEmpty();
    }

    @Test
    void metricsExposeVllmGauges() {
        String before = client.get("/metrics").body();
        client.postJson("/v1/completions", "{\"prompt\":\"abcdefgh\",\"max_tokens\":3}");
        HttpResponse<String> res = client.get("/metrics");
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        String labels = "{engine=\"0\",model_name=\"llama\"}";
        assertThat(res.body())
                .contains("# HELP vllm:num_requests_running ")
                .contains("# TYPE vllm:num_requests_running gauge")
                .contains("vllm:num_requests_running" + labels + " 0.0")
                .contains("# TYPE vllm:num_requests_waiting gauge")
                .contains("vllm:num_requests_waiting" + labels + " 0.0")
                .contains("# TYPE vllm:kv_cache_usage_perc gauge")
                .contains("# TYPE vllm:prompt_tokens_total counter")
                .contains("# TYPE vllm:generation_tokens_total counter")
                .contains("# TYPE vllm:request_success_total counter");
        assertThat(metric(res.body(), "vllm:kv_cache_usage_perc" + labels)).isBetween(0.0, 1.0);
        String length = "vllm:request_success_total{engine=\"0\",finished_reason=\"length\",model_name=\"llama\"}";
        assertThat(metric(res.body(), "vllm:prompt_tokens_total" + labels)
                - metric(before, "vllm:prompt_tokens_total" + labels)).isEqualTo(2.0);
        assertThat(metric(res.body(), "vllm:generation_tokens_total" + labels)
                - metric(before, "vllm:generation_tokens_total" + labels)).isEqualTo(3.0);
        assertThat(metric(res.body(), length) - metric(before, length)).isEqualTo(1.0);
    }

    /** The value of one series in Prometheus text. */
    static double metric(String text, String series) {
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1));
            }
        }
        throw new AssertionError("no series " + series + " in:\n" + text);
    }

    @Test
    void tokenizeAndDetokenize() {
        JsonNode tok = json(client.postJson("/tokenize", "{\"model\":\"llama\",\"prompt\":\"Hello world!\"}"));
        assertThat(tok.get("count").asInt()).isEqualTo(3);
        assertThat(tok.get("max_model_len").asInt()).isEqualTo(8192);
        assertThat(tok.get("tokens")).hasSize(3);
        assertThat(tok.get("token_strs").isNull()).isTrue();
        JsonNode strs = json(client.postJson("/tokenize", "{\"prompt\":\"Hello world!\",\"return_token_strs\":true}"));
        assertThat(strs.get("token_strs").get(0).asText()).isEqualTo("Hell");
        assertThat(strs.get("tokens")).isEqualTo(tok.get("tokens"));
        JsonNode detok = json(client.postJson("/detokenize", "{\"tokens\":[1,2]}"));
        assertThat(detok.get("prompt").asText()).isEqualTo(" token1 token2");
        assertThat(client.postJson("/tokenize", "{\"model\":\"nope\",\"prompt\":\"x\"}").statusCode()).isEqualTo(404);
    }

    @Test
    void embeddingsAreDeterministicUnitVectors() {
        JsonNode body = json(client.postJson("/v1/embeddings", "{\"model\":\"llama\",\"input\":[\"a\",\"b\",\"a\"]}"));
        assertThat(body.get("id").asText()).startsWith("embd-");
        assertThat(body.get("object").asText()).isEqualTo("list");
        assertThat(body.get("data")).hasSize(3);
        JsonNode first = body.at("/data/0");
        assertThat(first.get("object").asText()).isEqualTo("embedding");
        assertThat(first.get("embedding")).hasSize(8);
        double norm = 0;
        for (JsonNode v : first.get("embedding")) {
            norm += v.asDouble() * v.asDouble();
        }
        assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        assertThat(body.at("/data/2/embedding")).isEqualTo(first.get("embedding"));
        assertThat(body.at("/data/1/embedding")).isNotEqualTo(first.get("embedding"));
        assertThat(body.at("/data/2/index").asInt()).isEqualTo(2);
        assertThat(body.at("/usage/completion_tokens").asInt()).isZero();

        JsonNode b64 = json(client.postJson("/v1/embeddings",
                "{\"input\":\"a\",\"encoding_format\":\"base64\",\"dimensions\":4}"));
        byte[] raw = Base64.getDecoder().decode(b64.at("/data/0/embedding").asText());
        assertThat(raw).hasSize(16);
        float x0 = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getFloat();
        assertThat(x0).isEqualTo(PoolingRoutes.EmbeddingsRoute.vector("a", 4)[0]);
    }

    @Test
    void rerankSortsByScoreAndHonoursTopN() {
        for (String path : List.of("/v1/rerank", "/rerank")) {
            JsonNode body = json(client.postJson(path, "{\"model\":\"llama\",\"query\":\"q\","
                    + "\"documents\":[\"d0\",{\"text\":\"d1\"},\"d2\"],\"top_n\":2}"));
            assertThat(body.get("id").asText()).startsWith("rerank-");
            assertThat(body.get("model").asText()).isEqualTo("llama");
            assertThat(body.at("/usage/total_tokens").asInt()).isPositive();
            JsonNode results = body.get("results");
            assertThat(results).hasSize(2);
            assertThat(results.get(0).get("relevance_score").asDouble())
                    .isGreaterThanOrEqualTo(results.get(1).get("relevance_score").asDouble())
                    .isBetween(0.0, 1.0);
            int index = results.get(0).get("index").asInt();
            assertThat(results.get(0).at("/document/text").asText()).isEqualTo("d" + index);
        }
    }

    @Test
    void transcriptionCountsAndRecordsTheMultipartBody() {
        byte[] body = ("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                + "Content-Type: audio/wav\r\n\r\n\u0000\u0001\u0002\r\n--XYZ--\r\n").getBytes(StandardCharsets.ISO_8859_1);
        HttpResponse<String> res = client.post("/v1/audio/transcriptions", "multipart/form-data; boundary=XYZ", body);
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(json(res).get("text").asText()).isEqualTo(body.length + " bytes received");
        RecordedRequest recorded = worker.log().awaitRequest(SimClient.TIMEOUT);
        assertThat(recorded.body()).isEqualTo(body);
        assertThat(client.postJson("/v1/audio/transcriptions", "{}").statusCode()).isEqualTo(400);
    }

    @Test
    void responsesApiMinimalObject() {
        JsonNode body = json(client.postJson("/v1/responses", "{\"model\":\"qwen\",\"input\":\"hi\",\"max_output_tokens\":2}"));
        assertThat(body.get("id").asText()).startsWith("resp_");
        assertThat(body.get("object").asText()).isEqualTo("response");
        assertThat(body.get("status").asText()).isEqualTo("completed");
        assertThat(body.get("model").asText()).isEqualTo("qwen");
        JsonNode message = body.at("/output/0");
        assertThat(message.get("type").asText()).isEqualTo("message");
        assertThat(message.get("role").asText()).isEqualTo("assistant");
        assertThat(message.at("/content/0/type").asText()).isEqualTo("output_text");
        assertThat(message.at("/content/0/text").asText()).isEqualTo(" token0 token1");
        assertThat(body.at("/usage/output_tokens").asInt()).isEqualTo(2);
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() {
        HttpResponse<String> res = client.get("/v1/nope?x=1");
        assertThat(res.statusCode()).isEqualTo(404);
        assertThat(json(res).get("detail").asText()).isEqualTo("Not Found");
        assertThat(client.get("/v1/chat/completions").statusCode()).isEqualTo(405);
    }

    @Test
    void everyRequestIsRecordedInArrivalOrder() {
        client.get("/health");
        client.get("/v1/models");
        client.get("/metrics");
        client.get("/unknown/path?a=1&b=%20");
        client.postJson("/v1/chat/completions", "{\"messages\":[]}", "X-Request-Id", "r-1", "X-Custom", "v1");
        List<RecordedRequest> all = worker.log().awaitRequests(5, SimClient.TIMEOUT);
        assertThat(all).extracting(RecordedRequest::path)
                .containsExactly("/health", "/v1/models", "/metrics", "/unknown/path", "/v1/chat/completions");
        assertThat(all.get(0).method()).isEqualTo("GET");
        assertThat(all.get(0).rawQuery()).isEmpty();
        assertThat(all.get(0).requestId()).isNull();
        assertThat(all.get(3).rawQuery()).isEqualTo("a=1&b=%20");
        RecordedRequest chat = all.get(4);
        assertThat(chat.method()).isEqualTo("POST");
        assertThat(chat.requestId()).isEqualTo("r-1");
        assertThat(chat.headers()).containsKey("x-custom").containsKey("content-type");
        assertThat(chat.headers().get("x-custom")).containsExactly("v1");
        assertThat(chat.header("X-Request-Id")).hasValue("r-1");
        assertThat(chat.bodyText()).isEqualTo("{\"messages\":[]}");
        assertThat(worker.log().totalRecorded()).isEqualTo(5);
        assertThat(worker.served()).isPositive();
        assertThat(worker.inFlight()).isZero();
    }

    @Test
    void logIsBoundedAndAwaitTimesOut() {
        worker.log().limit(2);
        try {
            client.get("/health");
            client.get("/load");
            client.get("/version");
            assertThat(worker.log().requests()).extracting(RecordedRequest::path).containsExactly("/load", "/version");
            assertThat(worker.log().totalRecorded()).isEqualTo(3);
        } finally {
            worker.log().limit(RequestLog.DEFAULT_LIMIT);
        }
        worker.log().clear();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> worker.log().awaitRequest(Duration.ofMillis(20)))
                .isInstanceOf(AssertionError.class).hasMessageContaining("timed out");
    }
}
