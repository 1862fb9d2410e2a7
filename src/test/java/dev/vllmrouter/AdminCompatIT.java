package dev.vllmrouter;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;

import static org.assertj.core.api.Assertions.assertThat;

/** The admin API and the router's own routes answer as vllm-router's do, in the details scripts depend on. */
class AdminCompatIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static HttpResponse<String> call(Fleet fleet, String method, String path) {
        return fleet.send(HttpRequest.newBuilder(URI.create(fleet.url(path)))
                .method(method, HttpRequest.BodyPublishers.noBody()).build());
    }

    @Test
    void aWrongMethodOnARouterRouteIs405AndReachesNoWorker() throws Exception {
        try (Fleet fleet = Fleet.start(1)) {
            for (String[] c : new String[][] {{"GET", "/add_worker", "POST"}, {"GET", "/remove_worker", "POST"},
                    {"DELETE", "/health", "GET, HEAD"}, {"POST", "/readiness", "GET, HEAD"},
                    {"PUT", "/workers", "GET, HEAD, POST"}, {"POST", "/workers/http%3A%2F%2Fa%3A1", "GET, HEAD, DELETE"},
                    {"GET", "/v1/chat/completions", "POST"}, {"PUT", "/v1/completions", "POST"},
                    {"POST", "/v1/models", "GET, HEAD"}, {"GET", "/flush_cache", "POST"}}) {
                HttpResponse<String> res = call(fleet, c[0], c[1]);
                assertThat(res.statusCode()).as(c[0] + " " + c[1]).isEqualTo(405);
                assertThat(res.headers().firstValue("Allow")).as(c[0] + " " + c[1]).hasValue(c[2]);
                assertThat(JSON.readTree(res.body()).path("error").path("type").asText())
                        .isEqualTo("MethodNotAllowedError");
            }
            assertThat(fleet.worker(0).log().requests()).extracting(r -> r.path()).as("refused by the router itself")
                    .doesNotContain("/add_worker", "/remove_worker", "/health", "/readiness", "/workers",
                            "/v1/chat/completions", "/v1/completions", "/flush_cache")
                    .allMatch(p -> p.equals("/metrics") || p.equals("/v1/models"), "only the router's own scrapes");
            call(fleet, "GET", "/tokenize");
            assertThat(fleet.worker(0).log().requests()).extracting(r -> r.method() + " " + r.path())
                    .as("a vLLM route vllm-router does not define still goes to a worker, any method")
                    .contains("GET /tokenize");
        }
    }

    @Test
    void getRoutesAnswerHead() throws Exception {
        try (Fleet fleet = Fleet.start(1)) {
            for (String path : List.of("/health", "/liveness", "/readiness", "/list_workers", "/workers")) {
                HttpResponse<String> res = call(fleet, "HEAD", path);
                assertThat(res.statusCode()).as(path).isEqualTo(200);
                assertThat(res.body()).as(path).isEmpty();
            }
            assertThat(fleet.worker(0).log().requests()).extracting(r -> r.path())
                    .doesNotContain("/health", "/liveness", "/readiness", "/list_workers", "/workers");
        }
    }

    @Test
    void addOrRemoveWithoutUrlIs400AndChangesNothing() throws Exception {
        try (Fleet fleet = Fleet.start(1)) {
            for (String path : List.of("/remove_worker", "/add_worker")) {
                HttpResponse<String> res = call(fleet, "POST", path);
                assertThat(res.statusCode()).as(path).isEqualTo(400);
                assertThat(res.body()).isEqualTo("Failed to deserialize query string: missing field `url`");
            }
            assertThat(fleet.router().registry().snapshot().workers()).hasSize(1);
        }
    }

    @Test
    void anAbandonedAddWorkerStopsWaiting() throws Exception {
        try (SimWorker sick = SimWorker.start(SimConfig.builder().build());
             Fleet fleet = Fleet.start(1, "--worker-startup-check-interval", "1",
                     "--worker-startup-timeout-secs", "600")) {
            sick.faults().healthy(false);
            try (java.net.Socket client = new java.net.Socket("127.0.0.1", fleet.router().port())) {
                client.getOutputStream().write(("POST /add_worker?url=" + sick.url() + " HTTP/1.1\r\nHost: x\r\n"
                        + "Content-Length: 0\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                client.getOutputStream().flush();
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
                        .until(() -> sick.log().requests().stream().anyMatch(r -> r.path().equals("/health")));
            }
            // the client is gone: the wait ends (it would go on for 600 s) and nothing is added
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() ->
                    dev.vllmrouter.testing.Scrape.from(fleet.router().metricsPort())
                            .value("vllm_router_http_requests_total{route=\"/add_worker\"}") == 1);
            assertThat(fleet.router().registry().snapshot().workers()).hasSize(1);
        }
    }

    @Test
    void workersListSpellsConnectionModeAsVllmRouter() throws Exception {
        try (Fleet fleet = Fleet.start(1)) {
            JsonNode w = JSON.readTree(fleet.get("/workers").body()).path("workers").get(0);
            assertThat(w.path("connection_mode").asText()).isEqualTo("Http");
            assertThat(w.path("worker_type").asText()).isEqualTo("regular");
        }
    }

    @Test
    void prefillDecodeLoadsHaveVllmRoutersShape() throws Exception {
        try (SimWorker prefill = SimWorker.start(SimConfig.builder().workerId("p").build());
             SimWorker decode = SimWorker.start(SimConfig.builder().workerId("d").build());
             Fleet fleet = Fleet.withWorkers(List.of(), "--vllm-pd-disaggregation", "--prefill", prefill.url(),
                     "--decode", decode.url())) {
            JsonNode loads = JSON.readTree(fleet.get("/get_loads").body());
            assertThat(loads.path("loads").path("prefill_" + prefill.url()).isInt()).isTrue();
            assertThat(loads.path("loads").path("decode_" + decode.url()).asInt()).isZero();
            assertThat(loads.path("loads").size()).isEqualTo(2);
            assertThat(loads.path("errors").isArray()).isTrue();
            assertThat(loads.path("errors")).isEmpty();
        }
    }
}
