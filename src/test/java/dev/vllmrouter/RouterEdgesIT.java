package dev.vllmrouter;

import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Sse;
import dev.vllmrouter.testing.Fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Router behaviour that needs its own fleet: limits, dead workers, DP ranks, worker keys, timeouts, admin API. */
class RouterEdgesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
            + "\"max_tokens\":2}";

    private static List<RecordedRequest> generation(SimWorker w) {
        return w.log().requests().stream().filter(r -> r.method().equals("POST") && r.path().startsWith("/v1/"))
                .toList();
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--max-payload-size", "1024")) {
            String big = "{\"model\":\"demo\",\"prompt\":\"" + "x".repeat(2000) + "\"}";
            HttpResponse<String> res = fleet.post("/v1/completions", big);
            assertThat(res.statusCode()).isEqualTo(413);
            assertThat(JSON.readTree(res.body()).path("error").path("code").asInt()).isEqualTo(413);
            // chunked (no Content-Length) is cut while reading
            HttpResponse<String> chunked = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(
                            () -> new java.io.ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8))))
                    .build());
            assertThat(chunked.statusCode()).isEqualTo(413);
            // exactly at the limit passes
            String fits = "{\"model\":\"demo\",\"prompt\":\"" + "y".repeat(1024 - 28) + "\"}";
            assertThat(fits.length()).isEqualTo(1024);
            assertThat(fleet.post("/v1/completions", fits).statusCode()).isEqualTo(200);
            assertThat(generation(fleet.worker(0))).hasSize(1);
        }
    }

    @Test
    void deadWorkerGivesA5xxAndTheRouterRecoversWhenItComesBack() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (Fleet fleet = Fleet.withWorkers(List.of(), "--worker-urls", "http://127.0.0.1:" + port)) {
            HttpResponse<String> down = fleet.post("/v1/chat/completions", CHAT);
            assertThat(down.statusCode()).isEqualTo(502);
            JsonNode err = JSON.readTree(down.body()).path("error");
            assertThat(err.path("code").asInt()).isEqualTo(502);
            // the worker's address is the router's log's business, not the client's
            assertThat(err.path("message").asText()).doesNotContain(String.valueOf(port))
                    .contains(down.headers().firstValue("x-request-id").orElseThrow());

            try (SimWorker back = SimWorker.start(SimConfig.builder().port(port).build())) {
                assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
                assertThat(generation(back)).hasSize(1);
            }
        }
    }

    @Test
    void unreachableWorkerIsSkippedForALiveOne() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (SimWorker live = SimWorker.start(SimConfig.builder().build());
             Fleet fleet = Fleet.withWorkers(List.of(), "--worker-urls", "http://127.0.0.1:" + port, live.url())) {
            for (int i = 0; i < 4; i++) {
                assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
            }
            assertThat(generation(live)).hasSize(4);
            fleet.awaitRouterIdle();
        }
    }

    @Test
    void noWorkersAtAllIs503() throws Exception {
        try (Fleet fleet = Fleet.withWorkers(List.of())) {
            HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT);
            assertThat(res.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(res.body()).path("error").path("type").asText())
                    .isEqualTo("ServiceUnavailableError");
            assertThat(fleet.get("/health").statusCode()).as("liveness: no worker yet is no reason to restart")
                    .isEqualTo(200);
            assertThat(fleet.get("/health").body()).isEqualTo("OK: 0 of 0 workers usable; not ready "
                    + "(/readiness answers 503)");
            assertThat(fleet.get("/readiness").statusCode()).isEqualTo(503);
            assertThat(fleet.get("/v1/models").statusCode()).isEqualTo(503);
        }
    }

    @Test
    void dataParallelRanksTravelInTheHeader() {
        try (Fleet fleet = Fleet.start(1, "--intra-node-data-parallel-size", "2", "--policy", "round_robin")) {
            for (int i = 0; i < 4; i++) {
                assertThat(fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                        .header("Content-Type", "application/json")
                        .header("X-data-parallel-rank", "9")
                        .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build()).statusCode()).isEqualTo(200);
            }
            List<String> ranks = generation(fleet.worker(0)).stream()
                    .map(r -> r.header("x-data-parallel-rank").orElse("none")).toList();
            assertThat(ranks).containsExactly("0", "1", "0", "1");
            assertThat(generation(fleet.worker(0))).allSatisfy(r -> assertThat(r.path()).isEqualTo(
                    "/v1/chat/completions"));
            assertThat(fleet.router().registry().snapshot().workers()).hasSize(2);
        }
    }

    @Test
    void apiKeyIsSentToWorkers() {
        try (Fleet fleet = Fleet.start(1, "--api-key", "sk-worker")) {
            fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                    .header("Content-Type", "application/json")
                    .header("Authorization", "Bearer client-key")
                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
            assertThat(generation(fleet.worker(0)).get(0).header("authorization")).hasValue("Bearer sk-worker");
        }
    }

    @Test
    void workersStartedWithApiKeyTellTheirModels() throws Exception {
        try (Fleet fleet = Fleet.start(1, b -> b.apiKey("sk-worker"), "--api-key", "sk-worker")) {
            assertThat(fleet.worker(0).log().unauthorized()).as("the monitor's /v1/models carries the worker key")
                    .isZero();
            HttpResponse<String> unknown = fleet.post("/v1/chat/completions",
                    "{\"model\":\"not-served\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(generation(fleet.worker(0))).as("the router knows the models: it answers itself").isEmpty();
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aClientCannotForgeRequestLogLines() throws Exception {
        java.util.logging.Logger requests = java.util.logging.Logger.getLogger("dev.vllmrouter.requests");
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                lines.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        requests.addHandler(capture);
        try (Fleet fleet = Fleet.start(1, "--request-log")) {
            String model = "demo\\n2026-12-07T00:00:00Z INFO forged line \\u001b[2J" + "x".repeat(100_000);
            assertThat(fleet.post("/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[]}")
                    .statusCode()).isEqualTo(404);
            await().atMost(Duration.ofSeconds(10)).until(() -> !lines.isEmpty());
            assertThat(lines.get(0)).doesNotContain("\n").doesNotContain("\u001b").contains("model=\"demo\\n2026")
                    .hasSizeLessThan(1_000);
        } finally {
            requests.removeHandler(capture);
        }
    }

    @Test
    void hungWorkerEndsInA504AfterTheReadTimeout() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--read-timeout-secs", "1")) {
            fleet.worker(0).faults().hang(true);
            HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT);
            assertThat(res.statusCode()).isEqualTo(504);
            assertThat(JSON.readTree(res.body()).path("error").path("code").asInt()).isEqualTo(504);
            fleet.worker(0).faults().hang(false);
            fleet.awaitRouterIdle();
        }
    }

    @Test
    void totalTimeoutCutsAStreamThatNeverEnds() throws Exception {
        try (Fleet fleet = Fleet.start(1, b -> b.interTokenLatency(java.time.Duration.ofMillis(50)),
                "--request-timeout-secs", "1")) {
            HttpResponse<java.io.InputStream> res = fleet.http().send(HttpRequest.newBuilder(
                            URI.create(fleet.url("/v1/completions")))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,"
                            + "\"max_tokens\":100000,\"prompt\":\"x\"}"))
                    .build(), HttpResponse.BodyHandlers.ofInputStream());
            List<String> events = Sse.readEvents(res.body());
            assertThat(events.size()).isGreaterThan(2);
            assertThat(JSON.readTree(events.get(events.size() - 2)).path("error").path("code").asInt())
                    .isEqualTo(504);
            assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
            fleet.awaitRouterIdle();
            fleet.worker(0).log().awaitDisconnects(1, java.time.Duration.ofSeconds(10));
        }
    }

    @Test
    void adminApiAddsListsAndRemovesWorkers() throws Exception {
        try (SimWorker extra = SimWorker.start(SimConfig.builder().build());
             Fleet fleet = Fleet.start(1)) {
            String u = URLEncoder.encode(extra.url(), StandardCharsets.UTF_8);
            HttpResponse<String> added = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/add_worker?url=" + u)))
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(added.statusCode()).isEqualTo(200);
            assertThat(added.body()).isEqualTo("Successfully added worker: " + extra.url());
            HttpResponse<String> again = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/add_worker?url=" + u)))
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(again.statusCode()).isEqualTo(400);

            JsonNode list = JSON.readTree(fleet.get("/list_workers").body());
            assertThat(list.path("urls")).hasSize(2);
            JsonNode workers = JSON.readTree(fleet.get("/workers").body());
            assertThat(workers.path("total").asInt()).isEqualTo(2);
            assertThat(workers.path("workers").get(1).path("url").asText()).isEqualTo(extra.url());
            assertThat(fleet.get("/workers/" + u).statusCode()).isEqualTo(200);

            HttpResponse<String> removed = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/workers/" + u)))
                    .DELETE().build());
            assertThat(removed.statusCode()).isEqualTo(200);
            assertThat(fleet.get("/workers/" + u).statusCode()).isEqualTo(404);

            HttpResponse<String> viaPost = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/workers")))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"url\":\"" + extra.url() + "\"}")).build());
            assertThat(JSON.readTree(viaPost.body()).path("success").asBoolean()).isTrue();
            HttpResponse<String> bad = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/workers")))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"url\":\"not a url\"}")).build());
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(bad.body()).path("code").asText()).isEqualTo("ADD_WORKER_FAILED");

            HttpResponse<String> rm = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/remove_worker?url=" + u)))
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(rm.body()).isEqualTo("Successfully removed worker: " + extra.url());
            assertThat(fleet.router().registry().snapshot().workers()).hasSize(1);

            JsonNode loads = JSON.readTree(fleet.get("/get_loads").body());
            assertThat(loads.path("workers").get(0).path("load").asInt()).isZero();
            HttpResponse<String> flush = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/flush_cache")))
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(flush.statusCode()).isEqualTo(200);
            assertThat(fleet.worker(0).log().requests()).anySatisfy(r ->
                    assertThat(r.path()).isEqualTo("/reset_prefix_cache"));
        }
    }
}
