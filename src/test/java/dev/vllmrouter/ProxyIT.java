package dev.vllmrouter;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.testing.Sse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The regular pipeline end to end: router on a real socket in front of two simulated vLLM workers. */
class ProxyIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
            + "\"max_tokens\":5}";
    private static Fleet fleet;

    @BeforeAll
    static void start() {
        fleet = Fleet.start(2, "--policy", "round_robin");
    }

    @AfterAll
    static void stop() {
        fleet.close();
    }

    @BeforeEach
    void reset() {
        fleet.workers().forEach(w -> {
            w.faults().reset();
            w.log().clear();
        });
    }

    private static List<RecordedRequest> generationRequests(SimWorker w) {
        return w.log().requests().stream().filter(r -> r.method().equals("POST") && r.path().startsWith("/v1/"))
                .toList();
    }

    @Test
    void chatIsForwardedByteForByteWithARequestId() throws Exception {
        String body = "{ \"messages\" : [{\"role\":\"user\",\"content\":\"Hi é\"}],  \"model\":\"demo\", \"max_tokens\":3 }";
        HttpResponse<String> res = fleet.post("/v1/chat/completions", body);
        assertThat(res.statusCode()).isEqualTo(200);
        String id = res.headers().firstValue("x-request-id").orElseThrow();
        assertThat(id).matches("chatcmpl-[A-Za-z0-9]{24}");
        JsonNode json = JSON.readTree(res.body());
        assertThat(json.path("object").asText()).isEqualTo("chat.completion");
        assertThat(json.path("usage").path("completion_tokens").asInt()).isEqualTo(3);

        RecordedRequest got = fleet.workers().stream().flatMap(w -> generationRequests(w).stream())
                .findFirst().orElseThrow();
        assertThat(got.body()).isEqualTo(body.getBytes(StandardCharsets.UTF_8));
        assertThat(got.requestId()).as("vLLM re-adds its chatcmpl- prefix").isEqualTo(id.substring("chatcmpl-".length()));
        assertThat(json.path("id").asText()).as("the body's id is the x-request-id").isEqualTo(id);
        assertThat(got.header("host")).hasValueSatisfying(h -> assertThat(h).doesNotContain(":" + fleet.router().port()));
    }

    @Test
    void clientRequestIdIsKept() {
        HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                .header("Content-Type", "application/json")
                .header("X-Correlation-Id", "corr-42")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":2}"))
                .build());
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("x-request-id")).hasValue("corr-42");
        RecordedRequest got = fleet.workers().stream().flatMap(w -> generationRequests(w).stream())
                .findFirst().orElseThrow();
        assertThat(got.requestId()).isEqualTo("corr-42");
        assertThat(got.header("x-correlation-id")).hasValue("corr-42");
    }

    @Test
    void roundRobinAlternatesWorkers() {
        for (int i = 0; i < 6; i++) {
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
        }
        assertThat(generationRequests(fleet.worker(0))).hasSize(3);
        assertThat(generationRequests(fleet.worker(1))).hasSize(3);
    }

    @Test
    void streamArrivesInOrderAndEnds() throws Exception {
        HttpResponse<InputStream> res = fleet.http().send(HttpRequest.newBuilder(URI.create(fleet.url(
                        "/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,\"max_tokens\":16,"
                        + "\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValueSatisfying(
                ct -> assertThat(ct).startsWith("text/event-stream"));
        List<String> events = readEvents(res.body());
        assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
        List<String> pieces = new ArrayList<>();
        boolean finished = false;
        for (String e : events.subList(0, events.size() - 2)) {
            JsonNode choice = JSON.readTree(e).path("choices").get(0);
            String content = choice.path("delta").path("content").asText("");
            if (!content.isEmpty()) {
                pieces.add(content);
            }
            finished |= !choice.path("finish_reason").isNull() && !choice.path("finish_reason").isMissingNode();
        }
        assertThat(pieces).as("one content chunk per token, in order").hasSize(16);
        for (int i = 0; i < 16; i++) {
            assertThat(pieces.get(i)).contains(Integer.toString(i));
        }
        assertThat(finished).isTrue();
        JsonNode usage = JSON.readTree(events.get(events.size() - 2));
        assertThat(usage.path("choices")).isEmpty();
        assertThat(usage.path("usage").path("completion_tokens").asInt()).isEqualTo(16);
        StringBuilder text = new StringBuilder(String.join("", pieces));
        assertThat(text).isNotEmpty();
    }

    @Test
    void fortyConcurrentStreamsAllCompleteAndReleaseEveryLease() throws Exception {
        fleet.workers().forEach(w -> w.faults().latency(Duration.ofMillis(5), Duration.ofMillis(2)));
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        for (int i = 0; i < 40; i++) {
            int n = i;
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    go.await();
                    HttpResponse<InputStream> res = fleet.http().send(HttpRequest.newBuilder(
                                    URI.create(fleet.url("/v1/completions")))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,"
                                    + "\"max_tokens\":12,\"prompt\":\"client " + n + "\"}"))
                            .build(), HttpResponse.BodyHandlers.ofInputStream());
                    List<String> events = readEvents(res.body());
                    assertThat(events).as("client " + n).hasSize(13);
                    assertThat(events.get(12)).isEqualTo("[DONE]");
                    for (int k = 0; k < 12; k++) {
                        JsonNode chunk = JSON.readTree(events.get(k));
                        assertThat(chunk.path("choices").get(0).path("text").asText())
                                .as("client %d event %d in order", n, k).contains(Integer.toString(k));
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failures).isEmpty();
        fleet.awaitRouterIdle();
        await().atMost(Duration.ofSeconds(10)).until(() -> fleet.workers().stream().allMatch(w -> w.inFlight() == 0));
    }

    @Test
    void clientHangingUpClosesTheWorkerConnection() throws Exception {
        fleet.workers().forEach(w -> w.faults().latency(Duration.ZERO, Duration.ofMillis(20)));
        HttpResponse<InputStream> res = fleet.http().send(HttpRequest.newBuilder(URI.create(fleet.url(
                        "/v1/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,\"max_tokens\":100000,"
                        + "\"prompt\":\"long\"}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader reader = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8));
        assertThat(reader.readLine()).startsWith("data: ");
        res.body().close();
        int before = fleet.workers().stream().mapToInt(w -> w.log().disconnects()).sum();
        await().atMost(Duration.ofSeconds(10)).until(
                () -> fleet.workers().stream().mapToInt(w -> w.log().disconnects()).sum() > before);
        fleet.awaitRouterIdle();
        await().atMost(Duration.ofSeconds(10)).until(() -> fleet.workers().stream().allMatch(w -> w.inFlight() == 0));
    }

    @Test
    void workersOwn4xxPassesThroughUnchanged() throws Exception {
        HttpResponse<String> res = fleet.post("/v1/chat/completions",
                "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertThat(res.statusCode()).isEqualTo(404);
        JsonNode err = JSON.readTree(res.body()).path("error");
        assertThat(err.path("type").asText()).isEqualTo("NotFoundError");
        assertThat(err.path("message").asText()).contains("nope");
        assertThat(res.headers().firstValue("x-request-id")).isPresent();
    }

    @Test
    void aServerErrorIsRetriedOnTheOtherWorkerAndTheLastOnePassesThrough() {
        fleet.workers().forEach(w -> w.faults().failNext(1, 500));
        HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT);
        assertThat(res.statusCode()).isEqualTo(500);
        assertThat(res.body()).as("the worker's own error body").contains("\"code\":500");
        // one attempt per worker, never the same worker twice
        fleet.workers().forEach(w -> assertThat(generationRequests(w)).hasSize(1));
    }

    @Test
    void malformedJsonIs400AndNoWorkerIsCalled() throws Exception {
        HttpResponse<String> res = fleet.post("/v1/chat/completions", "{\"model\": \"demo\", \"messages\": [");
        assertThat(res.statusCode()).isEqualTo(400);
        JsonNode err = JSON.readTree(res.body()).path("error");
        assertThat(err.path("type").asText()).isEqualTo("BadRequestError");
        assertThat(err.path("code").asInt()).isEqualTo(400);
        assertThat(err.path("message").asText()).startsWith("Invalid JSON body");
        assertThat(fleet.workers().stream().mapToInt(w -> generationRequests(w).size()).sum()).isZero();
    }

    @Test
    void jsonWithoutContentTypeIsLabelledForTheWorker() {
        HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":1}"))
                .build());
        assertThat(res.statusCode()).isEqualTo(200);
        RecordedRequest got = fleet.workers().stream().flatMap(w -> generationRequests(w).stream())
                .findFirst().orElseThrow();
        assertThat(got.header("content-type")).hasValue("application/json");
        got.headers().get("content-type").forEach(v -> assertThat(v).isEqualTo("application/json"));

        // curl -d '{...}' without -H labels the JSON as a form
        fleet.workers().forEach(w -> w.log().clear());
        HttpResponse<String> form = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":1}"))
                .build());
        assertThat(form.statusCode()).isEqualTo(200);
        RecordedRequest relabelled = fleet.workers().stream().flatMap(w -> generationRequests(w).stream())
                .findFirst().orElseThrow();
        assertThat(relabelled.headers().get("content-type")).containsExactly("application/json");
    }

    @Test
    void nonJsonContentTypeOnJsonRouteIs415() throws Exception {
        HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}")).build());
        assertThat(res.statusCode()).isEqualTo(415);
        assertThat(JSON.readTree(res.body()).path("error").path("code").asInt()).isEqualTo(415);
    }

    @Test
    void transparentProxyForwardsMultipartUnchanged() throws Exception {
        String boundary = "----b0undary";
        byte[] audio = new byte[3000];
        new java.util.Random(1).nextBytes(audio);
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ndemo\r\n--" + boundary
                + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                + "Content-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        body.write(audio);
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        byte[] bytes = body.toByteArray();
        HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url(
                        "/v1/audio/transcriptions?lang=en")))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build());
        assertThat(res.statusCode()).isEqualTo(200);
        RecordedRequest got = fleet.workers().stream().flatMap(w -> w.log().requests().stream())
                .filter(r -> r.path().equals("/v1/audio/transcriptions")).findFirst().orElseThrow();
        assertThat(got.body()).isEqualTo(bytes);
        assertThat(got.rawQuery()).isEqualTo("lang=en");
        assertThat(got.header("content-type")).hasValue("multipart/form-data; boundary=" + boundary);
    }

    @Test
    void unknownPathsReachAWorkerWithAnyMethod() {
        HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/no/such%2Fpath?a=b%20c")))
                .method("PATCH", HttpRequest.BodyPublishers.ofString("raw")).build());
        assertThat(res.statusCode()).isEqualTo(404);
        RecordedRequest got = fleet.workers().stream().flatMap(w -> w.log().requests().stream())
                .filter(r -> r.path().startsWith("/no/")).findFirst().orElseThrow();
        assertThat(got.method()).isEqualTo("PATCH");
        assertThat(got.path()).isEqualTo("/no/such%2Fpath");
        assertThat(got.rawQuery()).isEqualTo("a=b%20c");
        assertThat(got.bodyText()).isEqualTo("raw");
    }

    @Test
    void workerDyingMidStreamEndsTheClientStreamWithAnErrorEvent() throws Exception {
        fleet.workers().forEach(w -> w.faults().dieMidStream(3));
        HttpResponse<InputStream> res = fleet.http().send(HttpRequest.newBuilder(URI.create(fleet.url(
                        "/v1/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,\"max_tokens\":50,"
                        + "\"prompt\":\"x\"}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        List<String> events = readEvents(res.body());
        assertThat(events).hasSize(5);
        for (int i = 0; i < 3; i++) {
            assertThat(JSON.readTree(events.get(i)).has("choices")).isTrue();
        }
        assertThat(JSON.readTree(events.get(3)).path("error").path("code").asInt()).isEqualTo(502);
        assertThat(events.get(4)).isEqualTo("[DONE]");
        fleet.awaitRouterIdle();
    }

    @Test
    void modelsAreTheUnionOfTheFleet() throws Exception {
        try (Fleet mixed = Fleet.withWorkers(List.of(
                SimWorker.start(dev.vllmrouter.sim.SimConfig.builder().models(List.of("a", "shared")).build()),
                SimWorker.start(dev.vllmrouter.sim.SimConfig.builder().models(List.of("b", "shared")).build())))) {
            HttpResponse<String> res = mixed.get("/v1/models");
            assertThat(res.statusCode()).isEqualTo(200);
            JsonNode json = JSON.readTree(res.body());
            assertThat(json.path("object").asText()).isEqualTo("list");
            Set<String> ids = new HashSet<>();
            json.path("data").forEach(m -> ids.add(m.path("id").asText()));
            assertThat(ids).containsExactlyInAnyOrder("a", "b", "shared");
            assertThat(json.path("data").size()).isEqualTo(3);
        }
    }

    @Test
    void probesReportTheFleet() throws Exception {
        assertThat(fleet.get("/liveness").statusCode()).isEqualTo(200);
        assertThat(fleet.get("/health").statusCode()).isEqualTo(200);
        HttpResponse<String> ready = fleet.get("/readiness");
        assertThat(ready.statusCode()).isEqualTo(200);
        JsonNode json = JSON.readTree(ready.body());
        assertThat(json.path("status").asText()).isEqualTo("ready");
        assertThat(json.path("healthy_workers").asInt()).isEqualTo(2);
        assertThat(json.path("total_workers").asInt()).isEqualTo(2);
    }

    @Test
    void metricsCountRequestsPerRouteWithoutExtraLabels() {
        fleet.post("/v1/chat/completions", CHAT);
        // recorded when the handler returns, which may be just after the client got its answer
        await().atMost(Duration.ofSeconds(10)).until(() -> java.util.regex.Pattern.compile(
                "vllm_router_request_duration_seconds_count\\{route=\"/v1/chat/completions\"} [1-9]")
                .matcher(fleet.metrics()).find());
        String metrics = fleet.metrics();
        assertThat(metrics).containsPattern("vllm_router_requests_total\\{route=\"/v1/chat/completions\"} [1-9]");
        assertThat(metrics).contains("vllm_router_request_duration_seconds_bucket{route=\"/v1/chat/completions\",le=\"0.001\"}");
        assertThat(metrics).contains("vllm_router_request_duration_seconds_count{route=\"/v1/chat/completions\"}");
        assertThat(metrics).doesNotContain("scope=");
    }

    static List<String> readEvents(InputStream body) throws Exception {
        return Sse.readEvents(body);
    }
}
