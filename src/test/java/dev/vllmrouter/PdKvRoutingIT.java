package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.kvevents.KvEventSubscriber;
import dev.vllmrouter.proxy.Forwarder;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.tokenize.TokenizerFixtures;

/**
 * PD with the KV-event index: the prefill stage's cache_aware routes by the exact index. Three prefill workers
 * tokenize with Qwen3's files and publish their prefix caches as KV events, one decode worker publishes none; the
 * router tokenizes with the same files. A conversation's later turns go to the prefill worker that holds its history,
 * and the decision header says the index chose it ({@code kv_prefix}), not the tree.
 */
class PdKvRoutingIT {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Pattern DECISION = Pattern.compile("policy=pd; prefill=(\\S+) \\((\\w+)\\); decode=.*");
    @TempDir
    static Path tmp;
    private final List<SimWorker> prefill = new ArrayList<>();
    private SimWorker decode;
    private RouterApp router;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        Path qwen = TokenizerFixtures.modelDirectory("qwen3", tmp);
        SimWorker first = SimWorker.start(sim(2, 0, qwen).build());
        prefill.add(first);
        int port = first.kvEvents().port();
        prefill.add(SimWorker.start(sim(3, port, qwen).build()));
        prefill.add(SimWorker.start(sim(4, port, qwen).build()));
        decode = SimWorker.start(SimConfig.builder().workerId("decode").tokenizerPath(qwen).build());
        List<String> args = new ArrayList<>(List.of("--port", "0", "--prometheus-port", "0",
                "--vllm-pd-disaggregation", "--policy", "cache_aware", "--kv-events-port", Integer.toString(port),
                "--tokenizer-path", qwen.toString(), "--decision-header"));
        for (SimWorker p : prefill) {
            args.add("--prefill");
            args.add(p.url());
        }
        args.add("--decode");
        args.add(decode.url());
        router = RouterApp.start(RouterCli.parse(Map.of(), args.toArray(String[]::new)));
        await().atMost(WAIT).until(() -> prefill.stream().allMatch(w -> kv().status(w.url()).connected()));
    }

    private static SimConfig.Builder sim(int address, int eventsPort, Path tokenizer) {
        return SimConfig.builder().host("127.0.0." + address).workerId("prefill-" + address)
                .kvEventsPort(eventsPort).tokenizerPath(tokenizer);
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        prefill.forEach(SimWorker::close);
        if (decode != null) {
            decode.close();
        }
    }

    private KvEventSubscriber kv() {
        return router.kvEvents();
    }

    private static String messages(int conversation, int turns) {
        StringBuilder sb = new StringBuilder("[{\"role\":\"system\",\"content\":\"" + conversation
                + ": you are a helpful assistant. " + "Answer briefly and precisely. ".repeat(12) + "\"}");
        for (int t = 0; t < turns; t++) {
            sb.append(",{\"role\":\"user\",\"content\":\"Question ").append(t).append(" of conversation ")
                    .append(conversation).append(": ").append("tell me more about prefix caches. ".repeat(10 + t))
                    .append("\"}");
            sb.append(",{\"role\":\"assistant\",\"content\":\"").append(" token0 token1 token2".repeat(3))
                    .append("\"}");
        }
        return sb.append(",{\"role\":\"user\",\"content\":\"And then?\"}]").toString();
    }

    private void awaitCaughtUp() {
        await().atMost(WAIT).until(() -> prefill.stream().allMatch(w -> w.kvEvents().published() == 0
                || kv().status(w.url()).lastSequence() == w.kvEvents().published() - 1));
    }

    /** The prefill worker and its reason from the decision header. */
    private String[] chat(int conversation, int turns) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(router.url() + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"max_tokens\":2,\"messages\":"
                        + messages(conversation, turns) + "}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String header = r.headers().firstValue(Forwarder.DECISION_HEADER).orElseThrow();
        Matcher m = DECISION.matcher(header);
        assertThat(m.matches()).as(header).isTrue();
        return new String[] {m.group(1), m.group(2)};
    }

    @Test
    void thePrefillStageRoutesLaterTurnsWhereTheIndexSaysTheHistoryIs() throws Exception {
        Map<Integer, String> home = new HashMap<>();
        for (int c = 0; c < 3; c++) {
            String[] d = chat(c, 0);
            assertThat(d[1]).as("a new prompt: scored by the index").isIn("kv_spread", "kv_load", "kv_prefix");
            home.put(c, d[0]);
        }
        for (int turns = 1; turns < 3; turns++) {
            for (int c = 0; c < 3; c++) {
                awaitCaughtUp();
                String[] d = chat(c, turns);
                assertThat(d[0]).as("conversation %d turn %d", c, turns).isEqualTo(home.get(c));
                assertThat(d[1]).as("chosen by the index").isEqualTo("kv_prefix");
            }
        }
        for (String worker : home.values()) { // a worker that got nothing has sent no batch yet: fallback
            assertThat(kv().status(worker).state().label()).as(worker).isEqualTo("exact");
        }
    }
}
