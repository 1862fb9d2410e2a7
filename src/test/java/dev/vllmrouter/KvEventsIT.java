package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.kvevents.KvEventSubscriber;
import dev.vllmrouter.kvevents.SourceState;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimKvEvents;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;

/**
 * The router subscribed to simulated workers that publish vLLM KV-cache events (one in each encoding, one with a small
 * cache that evicts), each on its own loopback address and the same events port, as engines on their own hosts: the
 * index reaches exactly what each worker's cache holds, follows a reset, and tells in /workers and the metrics when a
 * publisher dies; a removed worker's entries go.
 */
class KvEventsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(15);
    private final List<SimWorker> sims = new ArrayList<>();
    private Fleet fleet;

    @BeforeEach
    void start() {
        SimWorker first = SimWorker.start(sim(2, 0, 0, SimKvEvents.Encoding.MAP, 4096).build());
        sims.add(first);
        int port = first.kvEvents().port();
        int replay = first.kvEvents().replayPort();
        sims.add(SimWorker.start(sim(3, port, replay, SimKvEvents.Encoding.ARRAY, 4096).build()));
        sims.add(SimWorker.start(sim(4, port, replay, SimKvEvents.Encoding.MAP, 24).build())); // evicts
        // with replay, a batch published before the router's subscription took effect (slow joiner) is fetched again
        fleet = Fleet.withWorkers(sims, "--policy", "round_robin", "--kv-events-port", Integer.toString(port),
                "--kv-events-replay-port", Integer.toString(replay));
        await().atMost(WAIT).until(() -> sims.stream().allMatch(w -> kv().status(w.url()).connected()));
    }

    private static SimConfig.Builder sim(int address, int eventsPort, int replayPort, SimKvEvents.Encoding encoding,
                                         int blocks) {
        return SimConfig.builder().host("127.0.0." + address).workerId("sim-" + address).kvEventsPort(eventsPort)
                .kvEventsReplayPort(replayPort).kvEventsEncoding(encoding).cacheBlocks(blocks);
    }

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
    }

    private static String messages(int conversation, int turns) {
        StringBuilder sb = new StringBuilder("[{\"role\":\"system\",\"content\":\"You are assistant number "
                + conversation + ". " + "Answer briefly and precisely. ".repeat(8) + "\"}");
        for (int t = 0; t < turns; t++) {
            sb.append(",{\"role\":\"user\",\"content\":\"Question ").append(t).append(" of conversation ")
                    .append(conversation).append(": ").append("tell me more about caches. ".repeat(4 + t))
                    .append("\"}");
            sb.append(",{\"role\":\"assistant\",\"content\":\"").append(" token0 token1 token2".repeat(3))
                    .append("\"}");
        }
        sb.append(",{\"role\":\"user\",\"content\":\"And finally?\"}]");
        return sb.toString();
    }

    private static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (java.io.IOException e) {
            throw new AssertionError(body, e);
        }
    }

    /** The prompt's token ids as the worker's /tokenize gives them (what a router without a tokenizer asks). */
    private int[] tokenize(SimWorker w, String messages) {
        String body = fleet.send(HttpRequest.newBuilder(URI.create(w.url() + "/tokenize"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":" + messages + "}")).build()).body();
        JsonNode tokens = json(body).get("tokens");
        int[] out = new int[tokens.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = tokens.get(i).asInt();
        }
        return out;
    }

    private KvEventSubscriber kv() {
        return fleet.router().kvEvents();
    }

    /** What the router's index says worker {@code w} holds of the prompt, capped as the engine caps a hit. */
    private int indexed(SimWorker w, int[] tokens) {
        KvIndex.Match m = kv().index().lookup(tokens, 16, null, null).get(w.url());
        int held = m == null ? 0 : m.tokens();
        return Math.min(held, (tokens.length - 1) / 16 * 16);
    }

    /** What the worker's cache really holds of the prompt, without touching it. */
    private static int cached(SimWorker w, String messages) {
        return w.prefixCache().cachedPrefixTokens(dev.vllmrouter.sim.PromptText.chat(json(messages)));
    }

    @Test
    void theIndexReachesWhatEveryWorkerCaches() {
        List<String> prompts = new ArrayList<>();
        for (int c = 0; c < 5; c++) {
            for (int turns = 0; turns < 4; turns++) {
                prompts.add(messages(c, turns));
            }
        }
        for (String m : prompts) {
            assertThat(fleet.post("/v1/chat/completions", "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":"
                    + m + "}").statusCode()).isEqualTo(200);
        }
        assertThat(sims.get(2).prefixCache().usedBlocks()).isEqualTo(24); // the small cache is full: it evicted
        await().atMost(WAIT).untilAsserted(() -> {
            for (SimWorker w : sims) {
                for (String m : prompts) {
                    assertThat(indexed(w, tokenize(w, m))).as("%s %s", w, m).isEqualTo(cached(w, m));
                }
            }
        });
        assertThat(prompts.stream().mapToInt(m -> cached(sims.get(0), m)).sum()).isPositive();
        for (SimWorker w : sims) {
            assertThat(kv().status(w.url()).state()).isEqualTo(SourceState.EXACT);
        }
        assertThat(kv().index().stats().blocks()).isEqualTo(
                sims.stream().mapToLong(w -> w.prefixCache().usedBlocks()).sum());

        // /reset_prefix_cache on one worker: AllBlocksCleared empties its entries
        assertThat(fleet.send(HttpRequest.newBuilder(URI.create(sims.get(1).url() + "/reset_prefix_cache"))
                .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode()).isEqualTo(200);
        await().atMost(WAIT).until(() -> kv().index().blocks(sims.get(1).url()) == 0);
        assertThat(kv().status(sims.get(1).url()).state()).isEqualTo(SourceState.EXACT);

        JsonNode workers = json(fleet.get("/workers").body()).get("workers");
        for (JsonNode w : workers) {
            assertThat(w.at("/kv_events/state").asText()).isEqualTo("exact");
            assertThat(w.at("/kv_events/last_sequence").asLong()).isNotNegative();
        }
        String metrics = fleet.metrics();
        assertThat(metrics).contains("vllm_router_kv_events_state{worker=\"" + sims.get(0).url() + "\"} 0");
        assertThat(metrics).contains("vllm_router_kv_index_entries ");
        assertThat(metrics).contains("vllm_router_kv_events_total{worker=\"" + sims.get(2).url() + "\"}");
    }

    @Test
    void aDeadPublisherShowsAsFallbackAndRequestsStillSucceed() {
        assertThat(fleet.post("/v1/chat/completions", "{\"model\":\"demo\",\"messages\":" + messages(1, 1) + "}")
                .statusCode()).isEqualTo(200);
        SimWorker victim = sims.get(0);
        await().atMost(WAIT).until(() -> kv().status(victim.url()).state() == SourceState.EXACT);
        victim.kvEvents().close();
        await().atMost(WAIT).until(() -> kv().status(victim.url()).state() == SourceState.FALLBACK);
        Map<String, String> states = new java.util.HashMap<>();
        for (JsonNode w : json(fleet.get("/workers").body()).get("workers")) {
            states.put(w.get("url").asText(), w.at("/kv_events/state").asText());
        }
        assertThat(states.get(victim.url())).isEqualTo("fallback");
        assertThat(fleet.metrics()).contains("vllm_router_kv_events_state{worker=\"" + victim.url() + "\"} 2")
                .contains("vllm_router_kv_events_connected{worker=\"" + victim.url() + "\"} 0");
        for (int i = 0; i < 6; i++) {
            assertThat(fleet.post("/v1/chat/completions", "{\"model\":\"demo\",\"messages\":" + messages(2, i)
                    + "}").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aRemovedWorkerTakesItsEntries() {
        for (int i = 0; i < 3; i++) {
            fleet.post("/v1/chat/completions", "{\"model\":\"demo\",\"messages\":" + messages(3, i) + "}");
        }
        SimWorker gone = sims.get(0);
        await().atMost(WAIT).until(() -> kv().index().blocks(gone.url()) > 0);
        assertThat(fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/workers/"
                + URLEncoder.encode(gone.url(), StandardCharsets.UTF_8)))).DELETE().build()).statusCode())
                .isEqualTo(200);
        await().atMost(WAIT).until(() -> kv().status(gone.url()) == null);
        assertThat(kv().index().blocks(gone.url())).isZero();
        assertThat(fleet.metrics()).doesNotContain("worker=\"" + gone.url() + "\"");
    }
}
