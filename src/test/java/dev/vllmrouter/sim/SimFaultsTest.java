package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.vllmrouter.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Every fault of {@link SimFaults}, observed the way a client (or the router) observes it. */
class SimFaultsTest {
    private static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3}";
    private static final String CHAT_STREAM =
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3,\"stream\":true}";

    private static SimWorker worker;
    private static SimClient client;

    @BeforeAll
    static void start() {
        worker = SimWorker.start(SimConfig.builder().build());
        client = new SimClient(worker);
    }

    @AfterAll
    static void stop() {
        worker.close();
    }

    @BeforeEach
    void clean() {
        worker.faults().reset();
        worker.log().clear();
    }

    @AfterEach
    void inFlightReturnsToZero() {
        worker.faults().reset();
        awaitInFlight(worker, 0);
    }

    private static void awaitInFlight(SimWorker w, int n) {
        await().atMost(SimClient.TIMEOUT).pollInterval(Duration.ofMillis(5)).until(() -> w.inFlight() == n);
    }

    @Test
    void failNextFailsExactlyNRequestsWithTheEnvelope() {
        worker.faults().failNext(2, 503);
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> res = client.postJson("/v1/chat/completions", CHAT);
            assertThat(res.statusCode()).isEqualTo(503);
            JsonNode error = json(res).get("error");
            assertThat(error.get("type").asText()).isEqualTo("InternalServerError");
            assertThat(error.get("code").asInt()).isEqualTo(503);
            assertThat(error.get("param").isNull()).isTrue();
        }
        assertThat(worker.faults().remainingFailures()).isZero();
        assertThat(client.postJson("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
        assertThat(client.get("/health").statusCode()).as("health is not an inference route").isEqualTo(200);
    }

    @Test
    void statusAppliesToEveryRequestUntilCleared() {
        worker.faults().status(429);
        assertThat(client.postJson("/v1/completions", "{\"prompt\":\"x\"}").statusCode()).isEqualTo(429);
        HttpResponse<String> res = client.postJson("/v1/chat/completions", CHAT_STREAM);
        assertThat(res.statusCode()).as("streams fail before the stream starts").isEqualTo(429);
        assertThat(json(res).at("/error/code").asInt()).isEqualTo(429);
        worker.faults().status(500);
        assertThat(json(client.postJson("/v1/embeddings", "{\"input\":\"x\"}")).at("/error/type").asText())
                .isEqualTo("InternalServerError");
        worker.faults().clearStatus();
        assertThat(client.postJson("/v1/completions", "{\"prompt\":\"x\"}").statusCode()).isEqualTo(200);
        assertThat(worker.served()).isPositive();
    }

    @Test
    void hangIsReleasedByTurningItOff() throws Exception {
        worker.faults().hang(true);
        CompletableFuture<HttpResponse<String>> pending = client.postJsonAsync("/v1/chat/completions", CHAT_STREAM);
        await().atMost(SimClient.TIMEOUT).pollInterval(Duration.ofMillis(5)).until(() -> worker.running() == 1);
        assertThat(worker.inFlight()).isEqualTo(1);
        assertThat(pending).isNotDone();
        worker.faults().hang(false);
        HttpResponse<String> res = pending.get(10, TimeUnit.SECONDS);
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(SimClient.events(res.body())).last().isEqualTo("[DONE]");
        assertThat(res.headers().firstValue("connection")).hasValue("close");
        assertThat(worker.log().disconnects()).isZero();
        // the worker keeps serving on new connections
        assertThat(client.postJson("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
    }

    @Test
    void hangIsReleasedByClientDisconnect() throws IOException {
        worker.faults().hang(true);
        SimClient.RawConnection raw = client.raw("/v1/completions", "{\"prompt\":\"x\",\"stream\":true}");
        awaitInFlight(worker, 1);
        raw.close();
        worker.log().awaitDisconnects(1, SimClient.TIMEOUT);
        awaitInFlight(worker, 0);
        assertThat(worker.running()).isZero();
        assertThat(worker.faults().hanging()).as("hang stays on for other requests").isTrue();
    }

    @Test
    void hangIsReleasedWhenTheWorkerCloses() throws IOException {
        SimWorker own = SimWorker.start(SimConfig.builder().build());
        own.faults().hang(true);
        try (SimClient.RawConnection raw = new SimClient(own).raw("/v1/chat/completions", CHAT)) {
            awaitInFlight(own, 1);
            own.close();
            assertThat(raw.readToEnd()).as("closed without a response").isEmpty();
            awaitInFlight(own, 0);
        } finally {
            own.close();
        }
    }

    @Test
    void dieMidStreamCutsTheConnectionAfterNEvents() throws IOException {
        worker.faults().dieMidStream(2);
        HttpRequest request = client.request("/v1/chat/completions", "application/json",
                CHAT_STREAM.getBytes(StandardCharsets.UTF_8));
        HttpResponse<Stream<String>> res = client.send(request, HttpResponse.BodyHandlers.ofLines());
        assertThat(res.statusCode()).isEqualTo(200);
        List<String> lines = new ArrayList<>();
        assertThatThrownBy(() -> res.body().forEach(lines::add))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(IOException.class);
        // HttpClient may drop lines it had buffered when the failure arrives; the raw socket below counts exactly
        assertThat(lines.stream().filter(l -> !l.isEmpty()).toList()).hasSizeLessThanOrEqualTo(2)
                .allMatch(l -> l.startsWith("data: {")).noneMatch(l -> l.contains("[DONE]"));

        assertThatThrownBy(() -> client.send(request, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);

        try (SimClient.RawConnection raw = client.raw("/v1/chat/completions", CHAT_STREAM)) {
            String wire = raw.readToEnd();
            assertThat(wire).startsWith("HTTP/1.1 200 OK");
            assertThat(wire.split("data: ", -1)).hasSize(3);
            assertThat(wire).doesNotContain("[DONE]").doesNotEndWith("0\r\n\r\n");
        }
        assertThat(worker.log().disconnects()).as("our own cut is not a client disconnect").isZero();
    }

    @Test
    void dieMidStreamClosesNonStreamingRequestsWithoutResponse() {
        worker.faults().dieMidStream(0);
        assertThatThrownBy(() -> client.send(client.request("/v1/completions", "application/json",
                "{\"prompt\":\"x\"}".getBytes(StandardCharsets.UTF_8)), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);
        assertThatThrownBy(() -> client.send(client.request("/v1/completions", "application/json",
                "{\"prompt\":\"x\",\"stream\":true}".getBytes(StandardCharsets.UTF_8)),
                HttpResponse.BodyHandlers.ofString()))
                .as("0 events: not even the response head").isInstanceOf(IOException.class);
        worker.faults().dieMidStream(-1);
        assertThat(client.postJson("/v1/completions", "{\"prompt\":\"x\"}").statusCode()).isEqualTo(200);
    }

    @Test
    void clientDisconnectMidStreamIsCounted() throws IOException {
        long abortsBefore = abortCount();
        try (SimClient.RawConnection raw = client.raw("/v1/completions",
                "{\"prompt\":\"x\",\"max_tokens\":1000000,\"stream\":true}")) {
            raw.readUntil("data: ");
        }
        worker.log().awaitDisconnects(1, SimClient.TIMEOUT);
        awaitInFlight(worker, 0);
        assertThat(abortCount()).isEqualTo(abortsBefore + 1);
    }

    private static long abortCount() {
        return (long) SimWorkerRoutesTest.metric(client.get("/metrics").body(),
                "vllm:request_success_total{engine=\"0\",finished_reason=\"abort\",model_name=\"demo\"}");
    }

    @Test
    void unhealthyWorkerAnswers503OnHealthAndPing() {
        worker.faults().healthy(false);
        HttpResponse<String> health = client.get("/health");
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(health.body()).isEmpty();
        assertThat(client.get("/ping").statusCode()).isEqualTo(503);
        assertThat(client.postJson("/v1/completions", "{\"prompt\":\"x\"}").statusCode())
                .as("inference still works").isEqualTo(200);
        worker.faults().reset();
        assertThat(client.get("/health").statusCode()).isEqualTo(200);
    }

    @Test
    void latencyOverrideStillProducesCompleteAnswers() {
        worker.faults().latency(Duration.ofMillis(2), Duration.ofMillis(1));
        assertThat(SimClient.events(client.postJson("/v1/chat/completions", CHAT_STREAM).body()))
                .hasSize(1 + 3 + 1);
        assertThat(client.postJson("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
    }

    @Test
    void maxNumSeqsQueuesRequestsAndMetricsShowWaiting() throws Exception {
        try (SimWorker limited = SimWorker.start(SimConfig.builder().maxNumSeqs(1).build())) {
            SimClient c = new SimClient(limited);
            limited.faults().hang(true);
            List<CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                pending.add(c.postJsonAsync("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2}"));
            }
            String labels = "{engine=\"0\",model_name=\"demo\"}";
            await().atMost(SimClient.TIMEOUT).pollInterval(Duration.ofMillis(10)).until(() -> {
                String m = c.get("/metrics").body();
                return SimWorkerRoutesTest.metric(m, "vllm:num_requests_running" + labels) == 1.0
                        && SimWorkerRoutesTest.metric(m, "vllm:num_requests_waiting" + labels) == 2.0;
            });
            assertThat(json(c.get("/load")).get("server_load").asInt()).isEqualTo(3);
            assertThat(limited.waiting()).isEqualTo(2);
            limited.faults().hang(false);
            for (CompletableFuture<HttpResponse<String>> f : pending) {
                assertThat(f.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }
            awaitInFlight(limited, 0);
            String m = c.get("/metrics").body();
            assertThat(SimWorkerRoutesTest.metric(m, "vllm:num_requests_waiting" + labels)).isZero();
            assertThat(limited.served()).isEqualTo(3);
        }
    }
}
