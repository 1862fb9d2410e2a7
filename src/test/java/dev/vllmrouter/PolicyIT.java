package dev.vllmrouter;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The policies through real sockets: stickiness, cache affinity without hot spots, load awareness, models. */
class PolicyIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SYSTEM = "You are a helpful assistant. ".repeat(40);

    private static int served(SimWorker w) {
        return (int) w.log().requests().stream().filter(r -> r.method().equals("POST") && r.path().startsWith("/v1/"))
                .count();
    }

    /** Which worker (index) received each generation request, in order. */
    private static Map<String, Integer> byRequestId(Fleet fleet) {
        Map<String, Integer> where = new HashMap<>();
        for (int i = 0; i < fleet.workers().size(); i++) {
            for (RecordedRequest r : fleet.worker(i).log().requests()) {
                if (r.path().startsWith("/v1/") && r.requestId() != null) {
                    where.put(r.requestId(), i);
                }
            }
        }
        return where;
    }

    private static String chat(List<String> turns) throws Exception {
        StringBuilder sb = new StringBuilder("{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[");
        sb.append("{\"role\":\"system\",\"content\":").append(JSON.writeValueAsString(SYSTEM)).append('}');
        for (int i = 0; i < turns.size(); i++) {
            sb.append(",{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant").append("\",\"content\":")
                    .append(JSON.writeValueAsString(turns.get(i))).append('}');
        }
        return sb.append("]}").toString();
    }

    private static HttpResponse<String> post(Fleet fleet, String path, String json, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url(path)))
                .header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return fleet.send(b.POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    @Test
    void consistentHashKeepsASessionOnOneWorker() {
        try (Fleet fleet = Fleet.start(3, "--policy", "consistent_hash")) {
            for (int s = 0; s < 6; s++) {
                for (int i = 0; i < 4; i++) {
                    assertThat(post(fleet, "/v1/completions", "{\"model\":\"demo\",\"prompt\":\"s" + s + "-" + i
                            + "\",\"max_tokens\":1}", "X-Session-ID", "session-" + s).statusCode()).isEqualTo(200);
                    // no request-id header here: x-request-id outranks the body's user (vllm-router's order)
                    assertThat(post(fleet, "/v1/completions", "{\"model\":\"demo\",\"prompt\":\"u" + s + "-" + i
                            + "\",\"max_tokens\":1,\"user\":\"user-" + s + "\"}").statusCode()).isEqualTo(200);
                }
            }
            Map<String, Integer> where = new HashMap<>();
            for (int w = 0; w < 3; w++) {
                for (RecordedRequest r : fleet.worker(w).log().requests()) {
                    if (r.method().equals("POST")) {
                        String prompt = r.bodyText().replaceAll(".*\"prompt\":\"([^\"]*)\".*", "$1");
                        where.put(prompt, w);
                    }
                }
            }
            for (int s = 0; s < 6; s++) {
                for (String prefix : List.of("s", "u")) {
                    Integer first = where.get(prefix + s + "-0");
                    assertThat(first).isNotNull();
                    for (int i = 1; i < 4; i++) {
                        assertThat(where.get(prefix + s + "-" + i)).as(prefix + s + " request " + i).isEqualTo(first);
                    }
                }
            }
        }
    }

    @Test
    void cacheAwareFollowsConversationsAndSpreadsNewOnesDespiteASharedSystemPrompt() throws Exception {
        try (Fleet fleet = Fleet.start(3, "--policy", "cache_aware", "--decision-header")) {
            int conversations = 12;
            Map<Integer, Integer> home = new HashMap<>();
            for (int turn = 0; turn < 3; turn++) {
                for (int c = 0; c < conversations; c++) {
                    List<String> turns = new ArrayList<>();
                    for (int t = 0; t <= turn; t++) {
                        turns.add("conversation " + c + " question " + t + " " + "detail ".repeat(30));
                        if (t < turn) {
                            turns.add("answer " + t + " to conversation " + c);
                        }
                    }
                    HttpResponse<String> res = post(fleet, "/v1/chat/completions", chat(turns),
                            "X-Request-Id", "c" + c + "-t" + turn);
                    assertThat(res.statusCode()).isEqualTo(200);
                    String decision = res.headers().firstValue("x-vllm-router-decision").orElseThrow();
                    assertThat(decision).startsWith("policy=cache_aware; worker=");
                    if (turn > 0) {
                        assertThat(decision).as("turn %d of conversation %d", turn, c).contains("reason=prefix_match");
                    }
                }
            }
            Map<String, Integer> where = byRequestId(fleet);
            for (int c = 0; c < conversations; c++) {
                int first = where.get("c" + c + "-t0");
                home.put(c, first);
                for (int turn = 1; turn < 3; turn++) {
                    assertThat(where.get("c" + c + "-t" + turn)).as("conversation %d turn %d", c, turn)
                            .isEqualTo(first);
                }
            }
            Map<Integer, Integer> perWorker = new HashMap<>();
            home.values().forEach(w -> perWorker.merge(w, 1, Integer::sum));
            // 12 conversations that all share the system prompt, one at a time: none piles up on one worker
            assertThat(perWorker).as("new conversations spread").hasSize(3)
                    .allSatisfy((w, n) -> assertThat(n).isBetween(3, 5));
        }
    }

    @Test
    void powerOfTwoAvoidsAWorkerWhoseQueueGrows() throws Exception {
        // only the explicit round below scrapes (no background round can race the assertions)
        try (Fleet fleet = Fleet.start(2, "--policy", "power_of_two", "--load-check-interval-secs", "3600")) {
            SimWorker busy = fleet.worker(0);
            busy.faults().hang(true);
            List<CompletableFuture<HttpResponse<String>>> stuck = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                // sent straight to the worker, not through the router: only its /metrics shows them
                stuck.add(fleet.http().sendAsync(HttpRequest.newBuilder(URI.create(busy.url() + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"x\"}")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> busy.inFlight() == 8);
            fleet.router().monitor().round();
            assertThat(fleet.router().registry().snapshot().workers().get(0).load()).isEqualTo(8);
            for (int i = 0; i < 20; i++) {
                assertThat(post(fleet, "/v1/completions", "{\"model\":\"demo\",\"prompt\":\"y\",\"max_tokens\":1}")
                        .statusCode()).isEqualTo(200);
            }
            assertThat(served(fleet.worker(1))).as("requests to the idle worker").isEqualTo(20);
            busy.faults().hang(false);
            stuck.forEach(CompletableFuture::join);
        }
    }

    @Test
    void modelsRouteToTheWorkersServingThem() throws Exception {
        List<SimWorker> workers = List.of(
                SimWorker.start(SimConfig.builder().models(List.of("llama")).build()),
                SimWorker.start(SimConfig.builder().models(List.of("qwen")).build()),
                SimWorker.start(SimConfig.builder().models(List.of("qwen", "llama")).build()));
        try (Fleet fleet = Fleet.withWorkers(workers, "--policy", "round_robin")) {
            for (int i = 0; i < 12; i++) {
                assertThat(post(fleet, "/v1/completions", "{\"model\":\"qwen\",\"prompt\":\"x\",\"max_tokens\":1}")
                        .statusCode()).isEqualTo(200);
            }
            assertThat(served(workers.get(0))).isZero();
            assertThat(served(workers.get(1))).isEqualTo(6);
            assertThat(served(workers.get(2))).isEqualTo(6);
            HttpResponse<String> unknown = post(fleet, "/v1/completions",
                    "{\"model\":\"mistral\",\"prompt\":\"x\"}");
            assertThat(unknown.statusCode()).isEqualTo(404);
            JsonNode err = JSON.readTree(unknown.body()).path("error");
            assertThat(err.path("type").asText()).isEqualTo("NotFoundError");
            assertThat(err.path("message").asText()).isEqualTo("The model `mistral` does not exist.");
            // no model: any worker
            assertThat(post(fleet, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}").statusCode())
                    .isEqualTo(200);
        }
    }
}
