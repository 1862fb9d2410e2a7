package dev.vllmrouter;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.pd.PdRequests;
import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Scrape;
import dev.vllmrouter.testing.Sse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Prefill/decode disaggregation end to end: 2 prefill + 2 decode simulated workers behind the router. */
class PdIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** Two prefill and two decode workers and a PD router in front; closes everything. */
    private static final class PdFleet implements AutoCloseable {
        final List<SimWorker> prefill = new ArrayList<>();
        final List<SimWorker> decode = new ArrayList<>();
        final RouterApp router;

        PdFleet(boolean mooncake, String... extra) {
            for (int i = 0; i < 2; i++) {
                prefill.add(SimWorker.start(SimConfig.builder().workerId("prefill-" + i).build()));
                decode.add(SimWorker.start(SimConfig.builder().workerId("decode-" + i)
                        .interTokenLatency(Duration.ofMillis(1)).build()));
            }
            List<String> args = new ArrayList<>(List.of("--port", "0", "--prometheus-port", "0",
                    "--vllm-pd-disaggregation", "--policy", "round_robin"));
            if (mooncake) {
                args.addAll(List.of("--kv-connector", "mooncake"));
            }
            for (SimWorker p : prefill) {
                args.add("--prefill");
                args.add(p.url());
                args.add(mooncake ? String.valueOf(p.port()) : "none"); // the simulator serves /query itself
            }
            for (SimWorker d : decode) {
                args.add("--decode");
                args.add(d.url());
            }
            args.addAll(List.of(extra));
            router = RouterApp.start(RouterCli.parse(Map.of(), args.toArray(String[]::new)));
        }

        List<RecordedRequest> posts(List<SimWorker> workers) {
            List<RecordedRequest> out = new ArrayList<>();
            workers.forEach(w -> w.log().requests().stream().filter(r -> r.method().equals("POST")).forEach(out::add));
            return out;
        }

        HttpResponse<String> post(String path, String body, String... headers) throws Exception {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(router.url() + path))
                    .header("Content-Type", "application/json");
            for (int i = 0; i < headers.length; i += 2) {
                b.header(headers[i], headers[i + 1]);
            }
            return HTTP.send(b.POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        @Override
        public void close() {
            router.close();
            prefill.forEach(SimWorker::close);
            decode.forEach(SimWorker::close);
        }
    }

    private static final String CHAT = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
            + "\"max_tokens\":5,\"min_tokens\":2,\"stream\":false}";

    @Test
    void metricsCountBothStagesPerWorker() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            for (int i = 0; i < 2; i++) {
                assertThat(fleet.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":2}")
                        .statusCode()).isEqualTo(200);
            }
            assertThat(fleet.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"x\",\"stream\":true,"
                    + "\"max_tokens\":3}").statusCode()).isEqualTo(200);
            Scrape m = await().atMost(Duration.ofSeconds(10)).until(() -> Scrape.from(fleet.router.metricsPort()),
                    s -> s.value("vllm_router_pd_requests_total{route=\"/v1/completions\"}") == 3);
            assertThat(m.value("vllm_router_pd_request_duration_seconds_count{route=\"/v1/completions\"}"))
                    .isEqualTo(3);
            assertThat(m.sum("vllm_router_pd_prefill_requests_total")).isEqualTo(3);
            assertThat(m.sum("vllm_router_pd_decode_requests_total")).isEqualTo(3);
            assertThat(m.sum("vllm_router_pd_prefill_errors_total") + m.sum("vllm_router_pd_decode_errors_total"))
                    .isZero();
            assertThat(m.sum("vllm_router_policy_decisions_total", "policy=\"round_robin\"")).as("both stages")
                    .isEqualTo(6);
            assertThat(m.sum("vllm_router_time_to_first_token_seconds_count")).as("the decode stream").isEqualTo(1);
            assertThat(m.value("vllm_router_active_workers")).isEqualTo(4);
        }
    }

    @Test
    void nixlRunsPrefillThenDecodeWithTheExactBodiesAndOneRequestId() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT, "X-Custom", "kept");
            assertThat(res.statusCode()).isEqualTo(200);
            List<RecordedRequest> prefills = fleet.posts(fleet.prefill);
            List<RecordedRequest> decodes = fleet.posts(fleet.decode);
            assertThat(prefills).hasSize(1);
            assertThat(decodes).hasSize(1);
            RecordedRequest p = prefills.get(0);
            RecordedRequest d = decodes.get(0);

            ObjectNode client = (ObjectNode) JSON.readTree(CHAT);
            assertThat(JSON.readTree(p.body())).as("prefill body")
                    .isEqualTo(PdRequests.prefill(client, "/v1/chat/completions", PdRequests.nixlPrefillParams()));
            assertThat(JSON.readTree(p.body()).toString()).contains("\"max_tokens\":1", "\"stream\":false",
                    "\"kv_transfer_params\":{\"do_remote_decode\":true,\"do_remote_prefill\":false,"
                            + "\"remote_engine_id\":null,\"remote_block_ids\":null,\"remote_host\":null,"
                            + "\"remote_port\":null}");

            JsonNode decodeBody = JSON.readTree(d.body());
            JsonNode kv = decodeBody.get("kv_transfer_params");
            assertThat(kv.get("do_remote_prefill").asBoolean()).isTrue();
            assertThat(kv.get("remote_engine_id").asText()).startsWith("prefill-");
            ObjectNode withoutKv = ((ObjectNode) decodeBody).deepCopy();
            withoutKv.remove("kv_transfer_params");
            assertThat(withoutKv).as("decode body is the client's own").isEqualTo(client);

            assertThat(p.requestId()).isEqualTo(d.requestId())
                    .matches("___prefill_addr_127\\.0\\.0\\.1:\\d+___decode_addr_127\\.0\\.0\\.1:\\d+_[0-9a-f]{32}");
            for (RecordedRequest leg : List.of(p, d)) {
                assertThat(leg.header("x-custom")).as("client headers on both legs").hasValue("kept");
                assertThat(leg.header("content-type")).hasValue("application/json");
            }
            assertThat(JSON.readTree(res.body()).path("usage").path("completion_tokens").asInt()).isEqualTo(5);
            assertThat(res.headers().firstValue("x-request-id")).isPresent();
        }
    }

    @Test
    void streamsComeFromTheDecodeWorkerUnchanged() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            String body = "{\"model\":\"demo\",\"prompt\":\"Once\",\"max_tokens\":8,\"stream\":true,"
                    + "\"stream_options\":{\"include_usage\":true}}";
            HttpResponse<InputStream> res = HTTP.send(HttpRequest.newBuilder(URI.create(fleet.router.url()
                            + "/v1/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
            List<String> events = Sse.readEvents(res.body());
            assertThat(events).hasSize(10); // 8 tokens, usage, [DONE]
            assertThat(events.get(9)).isEqualTo("[DONE]");
            JsonNode decodeBody = JSON.readTree(fleet.posts(fleet.decode).get(0).body());
            assertThat(decodeBody.get("stream").asBoolean()).isTrue();
            assertThat(decodeBody.has("stream_options")).isTrue();
            JsonNode prefillBody = JSON.readTree(fleet.posts(fleet.prefill).get(0).body());
            assertThat(prefillBody.get("stream").asBoolean()).isFalse();
            assertThat(prefillBody.has("stream_options")).isFalse();
            fleet.router.registry().snapshot().workers().forEach(w -> assertThat(w.inFlight()).isZero());
        }
    }

    @Test
    void aFailedPrefillMovesToTheOtherPrefillWorker() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            fleet.prefill.get(0).faults().status(503);
            for (int i = 0; i < 4; i++) {
                assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
            }
            assertThat(fleet.posts(List.of(fleet.prefill.get(1)))).hasSize(4);
            assertThat(fleet.posts(fleet.decode)).hasSize(4);
            fleet.prefill.get(1).faults().status(503);
            HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT);
            assertThat(res.statusCode()).isEqualTo(502);
            assertThat(JSON.readTree(res.body()).path("error").path("message").asText()).startsWith("Prefill failed");
            assertThat(fleet.posts(fleet.decode)).as("no decode without a prefill").hasSize(4);
            Scrape m = Scrape.from(fleet.router.metricsPort());
            assertThat(m.value("vllm_router_upstream_retries_exhausted_total{phase=\"prefill\","
                    + "route=\"/v1/chat/completions\"}")).isEqualTo(1);
            assertThat(m.sum("vllm_router_retries_exhausted_total")).as("vllm-router's series: regular requests only")
                    .isZero();
            assertThat(m.sum("vllm_router_pd_prefill_errors_total")).as("each failed prefill attempt, both workers at the end")
                    .isGreaterThanOrEqualTo(2);
            assertThat(m.sum("vllm_router_requests_total")).as("PD requests are counted in vllm_router_pd_* only")
                    .isZero();
        }
    }

    @Test
    void aPrefillRefusingTheRequestAnswersTheClient() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            // vLLM refuses a chat without messages: the client's own mistake, not the worker's failure
            HttpResponse<String> res = fleet.post("/v1/chat/completions", "{\"model\":\"demo\"}");
            assertThat(res.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(res.body()).path("error").path("type").asText()).isEqualTo("BadRequestError");
            assertThat(fleet.posts(fleet.prefill)).as("not retried on the other prefill").hasSize(1);
            assertThat(fleet.posts(fleet.decode)).isEmpty();
            HttpResponse<String> unknown = fleet.post("/v1/chat/completions",
                    "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(fleet.posts(fleet.prefill)).as("an unknown model is refused by the router").hasSize(1);
        }
    }

    @Test
    void aClientHangingUpDuringDecodeClosesTheDecodeConnection() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            fleet.decode.forEach(d -> d.faults().latency(Duration.ZERO, Duration.ofMillis(20)));
            HttpResponse<InputStream> res = HTTP.send(HttpRequest.newBuilder(URI.create(fleet.router.url()
                            + "/v1/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"x\","
                            + "\"max_tokens\":100000,\"stream\":true}")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            BufferedReader reader = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8));
            assertThat(reader.readLine()).startsWith("data: ");
            res.body().close();
            await().atMost(Duration.ofSeconds(10)).until(
                    () -> fleet.decode.stream().mapToInt(w -> w.log().disconnects()).sum() == 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router.registry().snapshot().workers().stream()
                    .allMatch(w -> w.inFlight() == 0));
        }
    }

    @Test
    void aSlowPrefillIsNotMistakenForAClientLeaving() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            // longer than the watch's check period and Helidon's idle-monitor iteration
            fleet.prefill.forEach(p -> p.faults().latency(Duration.ofMillis(1500), Duration.ZERO));
            HttpResponse<String> res = fleet.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"x\","
                    + "\"max_tokens\":2}");
            assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
            assertThat(fleet.posts(fleet.decode)).hasSize(1);
            // and the keep-alive connection still carries the next request
            assertThat(fleet.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"y\",\"max_tokens\":2}")
                    .statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aClientHangingUpDuringThePrefillAbortsItAndNoDecodeRuns() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            fleet.prefill.forEach(p -> p.faults().hang(true));
            String body = "{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":5}";
            try (java.net.Socket client = new java.net.Socket("127.0.0.1", fleet.router.port())) {
                client.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: r\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.US_ASCII));
                client.getOutputStream().flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> !fleet.posts(fleet.prefill).isEmpty());
            } // the client leaves while the prefill hangs
            await().atMost(Duration.ofSeconds(10)).until(
                    () -> fleet.prefill.stream().mapToInt(w -> w.log().disconnects()).sum() == 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router.registry().snapshot().workers().stream()
                    .allMatch(w -> w.inFlight() == 0));
            assertThat(fleet.posts(fleet.decode)).as("no decode for a client that left").isEmpty();
            fleet.prefill.forEach(p -> p.faults().hang(false));
            // the router keeps serving
            assertThat(fleet.post("/v1/completions", body).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void mooncakeSendsTheTransferIdAndBootstrapAddressToBothLegs() throws Exception {
        try (PdFleet fleet = new PdFleet(true)) {
            assertThat(fleet.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":2}")
                    .statusCode()).isEqualTo(200);
            RecordedRequest p = fleet.posts(fleet.prefill).get(0);
            RecordedRequest d = fleet.posts(fleet.decode).get(0);
            JsonNode pkv = JSON.readTree(p.body()).get("kv_transfer_params");
            JsonNode dkv = JSON.readTree(d.body()).get("kv_transfer_params");
            assertThat(pkv.get("do_remote_decode").asBoolean()).isTrue();
            assertThat(pkv.get("transfer_id").asText()).matches("xfer-[0-9a-f]{32}");
            assertThat(dkv.get("transfer_id").asText()).isEqualTo(pkv.get("transfer_id").asText());
            assertThat(dkv.get("do_remote_prefill").asBoolean()).isTrue();
            SimWorker prefill = fleet.prefill.stream().filter(w -> !w.log().requests().stream()
                    .filter(r -> r.method().equals("POST")).toList().isEmpty()).findFirst().orElseThrow();
            assertThat(dkv.get("remote_bootstrap_addr").asText()).isEqualTo("http://127.0.0.1:" + prefill.port());
            assertThat(dkv.get("remote_engine_id").asText()).isEqualTo(prefill.workerId());
        }
    }

    @Test
    void dataParallelRanksTravelOnBothLegs() throws Exception {
        try (PdFleet fleet = new PdFleet(false, "--intra-node-data-parallel-size", "2")) {
            for (int i = 0; i < 4; i++) {
                assertThat(fleet.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":1}")
                        .statusCode()).isEqualTo(200);
            }
            assertThat(fleet.router.registry().snapshot().workers()).hasSize(8);
            for (RecordedRequest r : fleet.posts(fleet.prefill)) {
                assertThat(r.header("x-data-parallel-rank")).hasValueSatisfying(v -> assertThat(v).isIn("0", "1"));
            }
            for (RecordedRequest r : fleet.posts(fleet.decode)) {
                assertThat(r.header("x-data-parallel-rank")).hasValueSatisfying(v -> assertThat(v).isIn("0", "1"));
                assertThat(r.path()).isEqualTo("/v1/completions");
            }
        }
    }

    @Test
    void mooncakeStreamsToo() throws Exception {
        try (PdFleet fleet = new PdFleet(true)) {
            HttpResponse<InputStream> res = HTTP.send(HttpRequest.newBuilder(URI.create(fleet.router.url()
                            + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,\"max_tokens\":4,"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            List<String> events = Sse.readEvents(res.body());
            assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
            assertThat(events).hasSizeGreaterThanOrEqualTo(5);
            JsonNode dkv = JSON.readTree(fleet.posts(fleet.decode).get(0).body()).get("kv_transfer_params");
            assertThat(dkv.get("remote_bootstrap_addr").asText()).startsWith("http://127.0.0.1:");
        }
    }

    @Test
    void theClientSeesThePrefillsPrefixCacheHitInJsonAndInTheFinalUsageChunk() throws Exception {
        // the decode reports no cache details: what the client sees can only come from the prefill's answer
        try (SimWorker prefill = SimWorker.start(SimConfig.builder().workerId("p").build());
             SimWorker decode = SimWorker.start(SimConfig.builder().workerId("d").enablePromptTokensDetails(false)
                     .build());
             RouterApp router = RouterApp.start(RouterCli.parse(Map.of(), "--port", "0", "--prometheus-port", "0",
                     "--vllm-pd-disaggregation", "--prefill", prefill.url(), "--decode", decode.url()))) {
            String prompt = "The quick brown fox jumps over the lazy dog. ".repeat(20);
            String chat = "{\"model\":\"demo\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\""
                    + prompt + "\"}]";
            HttpResponse<String> first = HTTP.send(HttpRequest.newBuilder(URI.create(router.url()
                    + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(chat + "}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(first.body()).path("usage").path("prompt_tokens_details").isNull())
                    .as("no hit yet").isTrue();

            HttpResponse<String> second = HTTP.send(HttpRequest.newBuilder(URI.create(router.url()
                    + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(chat + "}")).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode usage = JSON.readTree(second.body()).path("usage");
            int cached = usage.path("prompt_tokens_details").path("cached_tokens").asInt();
            assertThat(cached).as(second.body()).isPositive().isLessThanOrEqualTo(usage.path("prompt_tokens").asInt());
            assertThat(usage.path("completion_tokens").asInt()).isEqualTo(3);

            HttpResponse<InputStream> stream = HTTP.send(HttpRequest.newBuilder(URI.create(router.url()
                            + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(chat + ",\"stream\":true,"
                            + "\"stream_options\":{\"include_usage\":true}}")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            List<String> events = Sse.readEvents(stream.body());
            assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
            JsonNode last = JSON.readTree(events.get(events.size() - 2));
            assertThat(last.path("choices").isEmpty()).as("the usage-only chunk").isTrue();
            assertThat(last.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt())
                    .isEqualTo(cached);
            for (String e : events.subList(0, events.size() - 2)) {
                assertThat(e).as("other chunks untouched").doesNotContain("usage", "cached_tokens");
            }
        }
    }

    @Test
    void probesAndAdminSeeBothRoles() throws Exception {
        try (PdFleet fleet = new PdFleet(false)) {
            HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(URI.create(fleet.router.url()
                    + "/readiness")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(ready.body()).path("prefill").path("total").asInt()).isEqualTo(2);
            assertThat(JSON.readTree(ready.body()).path("decode").path("healthy").asInt()).isEqualTo(2);
            JsonNode workers = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(fleet.router.url()
                    + "/workers")).build(), HttpResponse.BodyHandlers.ofString()).body());
            assertThat(workers.path("stats").path("prefill_count").asInt()).isEqualTo(2);
            assertThat(workers.path("stats").path("decode_count").asInt()).isEqualTo(2);
            // embeddings are not disaggregated: any worker answers
            assertThat(fleet.post("/v1/embeddings", "{\"model\":\"demo\",\"input\":\"x\"}").statusCode())
                    .isEqualTo(200);
        }
    }
}
