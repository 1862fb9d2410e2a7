package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.testing.Scrape;

/**
 * The exporter read during real traffic: each series moves when what it measures happens, with vllm-router's names
 * and labels and nothing more. docs/metrics.md lists the same names.
 */
class MetricsIT {
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    private static final String STREAM = "{\"model\":\"demo\",\"stream\":true,\"max_tokens\":6,\"prompt\":\"p\"}";

    @Test
    void trafficMovesTheRequestPolicyWorkerAndStreamSeries() throws Exception {
        try (Fleet fleet = Fleet.start(2, "--policy", "round_robin")) {
            for (int i = 0; i < 4; i++) {
                assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
            }
            assertThat(fleet.post("/v1/completions", STREAM).statusCode()).isEqualTo(200);
            assertThat(fleet.post("/v1/embeddings", "{\"model\":\"demo\",\"input\":\"x\"}").statusCode())
                    .isEqualTo(200);
            assertThat(fleet.post("/v1/chat/completions", "{bad").statusCode()).isEqualTo(400);
            fleet.awaitRouterIdle();
            String w0 = fleet.router().registry().snapshot().workers().get(0).id();

            Scrape m = await().atMost(Duration.ofSeconds(10)).until(() -> scrape(fleet),
                    s -> s.value("vllm_router_requests_total{route=\"/v1/embeddings\"}") == 1);
            assertThat(m.value("vllm_router_requests_total{route=\"/v1/chat/completions\"}"))
                    .as("vllm-router's series: successful typed requests").isEqualTo(4);
            assertThat(m.value("vllm_router_request_duration_seconds_count{route=\"/v1/chat/completions\"}"))
                    .isEqualTo(4);
            assertThat(m.value("vllm_router_requests_total{route=\"/v1/completions\"}")).isEqualTo(1);
            assertThat(m.value("vllm_router_http_requests_total{route=\"/v1/chat/completions\"}"))
                    .as("this router's series: every request").isEqualTo(5);
            assertThat(m.value("vllm_router_http_request_errors_total{error_type=\"bad_request\","
                    + "route=\"/v1/chat/completions\"}")).isEqualTo(1);
            assertThat(m.sum("vllm_router_request_errors_total"))
                    .as("vllm-router does not count a body its JSON extractor refuses").isZero();
            assertThat(m.value("vllm_router_generate_duration_seconds_count"))
                    .as("successful typed requests, embeddings included, as vllm-router").isEqualTo(6);
            assertThat(m.value("vllm_router_embeddings_total")).isEqualTo(1);
            assertThat(m.sum("vllm_router_policy_decisions_total", "policy=\"round_robin\"")).isEqualTo(6);
            assertThat(m.value("vllm_router_policy_decision_reasons_total{policy=\"round_robin\","
                    + "reason=\"round_robin\"}")).isEqualTo(6);
            assertThat(m.sum("vllm_router_processed_requests_total")).isEqualTo(6);
            assertThat(m.value("vllm_router_active_workers")).isEqualTo(2);
            assertThat(m.value("vllm_router_worker_health{worker=\"" + w0 + "\"}")).isEqualTo(1);
            assertThat(m.value("vllm_router_running_requests{worker=\"" + w0 + "\"}")).isZero();
            assertThat(m.value("vllm_router_cb_state{worker=\"" + w0 + "\"}")).isZero();
            assertThat(m.sum("vllm_router_cb_outcomes_total", "outcome=\"success\"")).isEqualTo(6);
            assertThat(m.sum("vllm_router_time_to_first_token_seconds_count")).isEqualTo(1);
            assertThat(m.sum("vllm_router_inter_token_latency_seconds_count")).as("events after the first")
                    .isPositive();
            assertThat(m.value("vllm_router_admission_in_flight")).isZero();
            assertThat(m.type("vllm_router_requests_total")).isEqualTo("counter");
            assertThat(m.type("vllm_router_http_requests_total")).isEqualTo("counter");
            assertThat(m.type("vllm_router_request_duration_seconds")).isEqualTo("histogram");
            assertThat(m.text()).doesNotContain("scope=");
        }
    }

    @Test
    void retriesCircuitsAndStreamErrorsAreCounted() throws Exception {
        try (Fleet fleet = Fleet.start(2, "--policy", "round_robin", "--cb-failure-threshold", "2",
                "--retry-initial-backoff-ms", "1")) {
            SimWorker bad = fleet.worker(0);
            bad.faults().status(503);
            for (int i = 0; i < 4; i++) {
                assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
            }
            String badId = fleet.router().registry().snapshot().workers().stream()
                    .filter(w -> w.baseUrl().equals(bad.url())).findFirst().orElseThrow().id();
            Scrape m = scrape(fleet);
            assertThat(m.value("vllm_router_retries_total{route=\"/v1/chat/completions\"}")).isEqualTo(2);
            assertThat(m.value("vllm_router_upstream_retries_total{phase=\"inference\","
                    + "route=\"/v1/chat/completions\"}")).isEqualTo(2);
            assertThat(m.value("vllm_router_retry_backoff_duration_seconds_count{attempt=\"1\"}")).isEqualTo(2);
            assertThat(m.value("vllm_router_cb_state{worker=\"" + badId + "\"}")).as("open").isEqualTo(1);
            assertThat(m.value("vllm_router_cb_state_transitions_total{from=\"closed\",to=\"open\",worker=\""
                    + badId + "\"}")).isEqualTo(1);
            assertThat(m.value("vllm_router_cb_outcomes_total{worker=\"" + badId + "\",outcome=\"failure\"}"))
                    .isEqualTo(2);

            fleet.workers().forEach(w -> w.faults().status(503));
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(503);
            m = scrape(fleet);
            assertThat(m.value("vllm_router_retries_exhausted_total{route=\"/v1/chat/completions\"}"))
                    .isEqualTo(1);
            assertThat(m.value("vllm_router_http_request_errors_total{error_type=\"worker_server_error\","
                    + "route=\"/v1/chat/completions\"}")).isEqualTo(1);
            assertThat(m.sum("vllm_router_request_errors_total"))
                    .as("a retryable final status is vllm-router's retries exhausted, not a request error").isZero();

            fleet.workers().forEach(w -> w.faults().reset());
            fleet.worker(1).faults().dieMidStream(2);
            assertThat(fleet.post("/v1/completions", STREAM).body()).contains("\"error\"");
            fleet.awaitRouterIdle();
            assertThat(scrape(fleet).sum("vllm_router_stream_errors_total")).isEqualTo(1);
        }
    }

    @Test
    void vllmRoutersSeriesCountWhatItCounts() throws Exception {
        try (Fleet fleet = Fleet.start(1)) {
            assertThat(fleet.get("/health").statusCode()).isEqualTo(200);
            assertThat(fleet.get("/v1/models").statusCode()).isEqualTo(200);
            assertThat(fleet.get("/list_workers").statusCode()).isEqualTo(200);
            assertThat(fleet.post("/v2/rerank", "{\"model\":\"demo\",\"query\":\"q\",\"documents\":[\"a\"]}")
                    .statusCode()).isEqualTo(200);
            assertThat(fleet.post("/rerank", "{\"model\":\"demo\",\"query\":\"q\",\"documents\":[\"a\"]}")
                    .statusCode()).isEqualTo(200);
            assertThat(fleet.post("/v1/chat/completions", "{\"model\":\"nope\",\"messages\":[]}").statusCode())
                    .isEqualTo(404);
            fleet.worker(0).faults().status(400);
            assertThat(fleet.post("/v1/completions", STREAM).statusCode()).isEqualTo(400);
            fleet.worker(0).faults().reset();
            fleet.router().registry().remove(fleet.worker(0).url());
            assertThat(fleet.post("/v1/completions", STREAM).statusCode()).isEqualTo(503);
            fleet.awaitRouterIdle();

            Scrape m = scrape(fleet);
            assertThat(m.sum("vllm_router_requests_total")).as("only the successful typed /rerank").isEqualTo(1);
            assertThat(m.value("vllm_router_requests_total{route=\"/v1/rerank\"}")).as("/rerank is /v1/rerank")
                    .isEqualTo(1);
            assertThat(m.value("vllm_router_request_errors_total{error_type=\"non_retryable_error\","
                    + "route=\"/v1/completions\"}")).as("a worker's 400").isEqualTo(1);
            assertThat(m.value("vllm_router_request_errors_total{error_type=\"non_retryable_error\","
                    + "route=\"/v1/chat/completions\"}")).as("an unknown model (a worker's 404 in vllm-router)")
                    .isEqualTo(1);
            assertThat(m.value("vllm_router_request_errors_total{error_type=\"no_available_workers\","
                    + "route=\"/v1/completions\"}")).isEqualTo(1);
            assertThat(m.value("vllm_router_http_requests_total{route=\"/health\"}")).isEqualTo(1);
            assertThat(m.value("vllm_router_http_requests_total{route=\"/v2/rerank\"}")).isEqualTo(1);
            HttpResponse<String> anyPath = fleet.http().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + fleet.router().metricsPort() + "/")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(anyPath.statusCode()).as("the exporter answers any path, as vllm-router's").isEqualTo(200);
            assertThat(anyPath.body()).contains("vllm_router_http_requests_total");
        }
    }

    @Test
    void admissionAndHealthSeries() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--max-concurrent-requests", "1", "--queue-size", "0",
                "--health-check-interval-secs", "3600", "--health-failure-threshold", "1")) {
            fleet.worker(0).faults().hang(true);
            CompletableFuture<HttpResponse<String>> held = fleet.http().sendAsync(
                    HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                    HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.worker(0).inFlight() == 1);
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(429);
            Scrape m = scrape(fleet);
            assertThat(m.value("vllm_router_admission_in_flight")).isEqualTo(1);
            assertThat(m.value("vllm_router_admission_rejected_total{reason=\"queue_full\"}")).isEqualTo(1);
            assertThat(m.sum("vllm_router_running_requests")).isEqualTo(1);
            fleet.worker(0).faults().hang(false);
            assertThat(held.get().statusCode()).isEqualTo(200);

            fleet.worker(0).faults().healthy(false);
            fleet.router().healthChecker().round();
            assertThat(scrape(fleet).sum("vllm_router_worker_health")).isZero();
        }
    }

    private static Scrape scrape(Fleet fleet) {
        return Scrape.from(fleet.router().metricsPort());
    }
}
