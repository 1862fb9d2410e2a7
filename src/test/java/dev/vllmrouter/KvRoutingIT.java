package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.kvevents.KvEventSubscriber;
import dev.vllmrouter.kvevents.SourceState;
import dev.vllmrouter.proxy.Forwarder;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.tokenize.TokenizerFixtures;

/**
 * cache_aware routing with the exact KV-event index, end to end: three simulated workers tokenize with Qwen3's real
 * files ({@code sim-worker --tokenizer-path}) and publish their prefix caches as vLLM's KV events; the router
 * tokenizes with the same files ({@code --tokenizer-path}), so its index and the workers agree token for token. Later
 * turns of a conversation go where the index says the history is, the decision header explains it, every checked
 * prediction matches the answer's {@code cached_tokens}; a worker whose publisher dies is routed with the tree, and
 * no request fails.
 */
class KvRoutingIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(20);
    @TempDir
    static Path tmp;
    private final List<SimWorker> sims = new ArrayList<>();
    private Fleet fleet;

    @BeforeEach
    void start() {
        Path qwen = TokenizerFixtures.modelDirectory("qwen3", tmp);
        SimWorker first = SimWorker.start(sim(2, 0, 0, qwen).build());
        sims.add(first);
        int port = first.kvEvents().port();
        int replay = first.kvEvents().replayPort();
        sims.add(SimWorker.start(sim(3, port, replay, qwen).build()));
        sims.add(SimWorker.start(sim(4, port, replay, qwen).build()));
        fleet = Fleet.withWorkers(sims, "--policy", "cache_aware", "--kv-events-port", Integer.toString(port),
                "--kv-events-replay-port", Integer.toString(replay), "--tokenizer-path", qwen.toString(),
                "--decision-header");
        await().atMost(WAIT).until(() -> sims.stream().allMatch(w -> kv().status(w.url()).connected()));
    }

    private static SimConfig.Builder sim(int address, int eventsPort, int replayPort, Path tokenizer) {
        return SimConfig.builder().host("127.0.0." + address).workerId("sim-" + address).kvEventsPort(eventsPort)
                .kvEventsReplayPort(replayPort).tokenizerPath(tokenizer);
    }

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
    }

    private KvEventSubscriber kv() {
        return fleet.router().kvEvents();
    }

    private static String messages(int conversation, int turns) {
        return dev.vllmrouter.testing.ChatMessages.conversation(conversation, turns);
    }

    /** Waits until the router applied every batch each worker published (the index is up to date). */
    private void awaitCaughtUp() {
        await().atMost(WAIT).until(() -> sims.stream().allMatch(w -> w.kvEvents() == null
                || w.kvEvents().published() == 0
                || kv().status(w.url()).lastSequence() == w.kvEvents().published() - 1));
    }

    private HttpResponse<String> chat(String messages) {
        return fleet.post("/v1/chat/completions", "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":" + messages
                + "}");
    }

    private static Map<String, String> decision(HttpResponse<String> r) {
        Map<String, String> out = new HashMap<>();
        for (String part : r.headers().firstValue(Forwarder.DECISION_HEADER).orElseThrow().split("; ")) {
            int eq = part.indexOf('=');
            out.put(part.substring(0, eq), part.substring(eq + 1));
        }
        return out;
    }

    private static int cachedTokens(HttpResponse<String> r) throws Exception {
        JsonNode usage = JSON.readTree(r.body()).path("usage");
        return usage.path("prompt_tokens_details").path("cached_tokens").asInt(0);
    }

    @Test
    void laterTurnsGoWhereTheIndexSaysTheHistoryIsAndEveryPredictionHolds() throws Exception {
        Map<Integer, String> home = new HashMap<>();
        List<String> decisions = new ArrayList<>();
        for (int c = 0; c < 6; c++) {
            HttpResponse<String> r = chat(messages(c, 0));
            assertThat(r.statusCode()).isEqualTo(200);
            home.put(c, decision(r).get("worker"));
            decisions.add(r.headers().firstValue(Forwarder.DECISION_HEADER).orElse(""));
        }
        assertThat(home.values()).as("new conversations spread; decisions %s; /workers %s", decisions,
                fleet.get("/workers").body()).containsAll(sims.stream().map(SimWorker::url).toList());
        for (int turns = 1; turns < 4; turns++) {
            for (int c = 0; c < 6; c++) {
                awaitCaughtUp();
                HttpResponse<String> r = chat(messages(c, turns));
                assertThat(r.statusCode()).isEqualTo(200);
                Map<String, String> d = decision(r);
                assertThat(d.get("worker")).as("conversation %d turn %d", c, turns).isEqualTo(home.get(c));
                assertThat(d).containsEntry("policy", "cache_aware").containsEntry("reason", "kv_prefix")
                        .containsEntry("index", "exact").containsKeys("runner_up", "runner_up_matched");
                int matched = Integer.parseInt(d.get("matched").split("/")[0]);
                assertThat(matched).isPositive();
                // the worker reports what the router predicted (the matched run, capped before the last token)
                int total = Integer.parseInt(d.get("matched").split("/")[1]);
                assertThat(cachedTokens(r)).isEqualTo(Math.min(matched, (total - 1) / 16 * 16));
            }
        }
        String metrics = fleet.metrics();
        for (SimWorker w : sims) {
            assertThat(metrics).contains("vllm_router_kv_predictions_total{worker=\"" + w.url()
                    + "\",outcome=\"over\"} 0");
            assertThat(metrics).containsPattern("vllm_router_kv_prediction_accuracy\\{worker=\"" + w.url()
                    .replace(".", "\\.") + "\"} 1\\.0000");
        }
    }

    @Test
    void anAnswerIsEncodedAheadSoTheNextTurnEncodesOnlyItsQuestion() throws Exception {
        dev.vllmrouter.tokenize.PromptTokenizer tokenizer = fleet.router().tokenizers().forModel("demo").orElseThrow();
        String system = "{\"role\":\"system\",\"content\":\"You answer about caches, turn by turn.\"}";
        String first = "{\"role\":\"user\",\"content\":\"What does a router do with KV events?\"}";
        // a streamed answer, collected as a client does
        java.net.http.HttpRequest streamed = java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(fleet.url("/v1/chat/completions"))).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,"
                        + "\"max_tokens\":12,\"messages\":[" + system + "," + first + "]}")).build();
        HttpResponse<java.io.InputStream> res = fleet.http().send(streamed,
                HttpResponse.BodyHandlers.ofInputStream());
        StringBuilder answer = new StringBuilder();
        for (String event : dev.vllmrouter.testing.Sse.readEvents(res.body())) {
            if (event.startsWith("{")) {
                JsonNode delta = JSON.readTree(event).path("choices").path(0).path("delta").path("content");
                answer.append(delta.asText(""));
            }
        }
        assertThat(answer).isNotEmpty();
        await().atMost(WAIT).until(() -> tokenizer.warmedAnswers() >= 1);
        long misses = tokenizer.cacheStats().misses();
        HttpResponse<String> next = chat("[" + system + "," + first + ",{\"role\":\"assistant\",\"content\":"
                + JSON.writeValueAsString(answer.toString()) + "},{\"role\":\"user\",\"content\":\"And then?\"}]");
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(tokenizer.cacheStats().misses() - misses).as("segments encoded for the next turn: its question")
                .isEqualTo(1);
        // a plain answer too
        String plain = JSON.readTree(next.body()).path("choices").path(0).path("message").path("content").asText();
        await().atMost(WAIT).until(() -> tokenizer.warmedAnswers() >= 2);
        assertThat(plain).isNotEmpty();
    }

    @Test
    void aWorkerWhosePublisherDiesIsRoutedWithTheTreeWithoutAFailedRequest() throws Exception {
        Map<Integer, String> home = new HashMap<>();
        for (int c = 0; c < 6; c++) {
            HttpResponse<String> r = chat(messages(c, 0));
            home.put(c, decision(r).get("worker"));
        }
        awaitCaughtUp();
        SimWorker dead = sims.get(0);
        dead.kvEvents().close(); // the engine's publisher dies; the engine keeps serving
        await().atMost(WAIT).until(() -> kv().state(dead.url()) == SourceState.FALLBACK);
        assertThat(fleet.get("/workers").body()).contains("\"state\":\"fallback\"");
        assertThat(fleet.metrics()).contains("vllm_router_kv_events_state{worker=\"" + dead.url() + "\"} 2");
        for (int c = 0; c < 6; c++) {
            HttpResponse<String> r = chat(messages(c, 1));
            assertThat(r.statusCode()).isEqualTo(200);
            Map<String, String> d = decision(r);
            // the tree was fed all along: a conversation that lives on the dead publisher's worker stays there
            assertThat(d.get("worker")).as("conversation %d", c).isEqualTo(home.get(c));
            if (home.get(c).equals(dead.url())) {
                assertThat(d).containsEntry("index", "fallback");
            }
        }
    }
}
