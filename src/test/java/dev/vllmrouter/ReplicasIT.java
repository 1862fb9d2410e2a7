package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.RouterProcess;
import dev.vllmrouter.tokenize.TokenizerFixtures;

/**
 * Three router processes route as one (issue 14): four simulated workers publish their prefix caches as vLLM's KV
 * events and tokenize with Qwen3's real files; three routers (separate JVMs, started as a container would start them)
 * each subscribe to every worker and sample every worker's queue; a client spreads each request over the routers at
 * random, as a Kubernetes Service does, and keeps several multi-turn conversations going at once.
 * <ul>
 *   <li>the same workload through one router, then through the three: the three find the conversations' histories in
 *       the workers' caches as well as one router does (hit rate of later turns at least 95 % of one router's), and
 *       spread the conversations as evenly;</li>
 *   <li>while the workload runs, one router is killed with SIGKILL (the Service drops it at that moment): only
 *       requests that were in flight on it fail; and another is rolled (the Service drops it, SIGTERM, its streams
 *       finish, it exits 0, a new process with the same flags catches up from the workers' replay buffers and joins):
 *       nothing fails; and new conversations once both are over find their histories as well as before.</li>
 * </ul>
 * Before each turn the client waits until every router has applied every batch the workers published up to the
 * previous answer (read from each router's {@code /workers}): the test is about routing as one, not about event lag
 * (bench/quality.sh measures lag).
 */
class ReplicasIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int WORKERS = 4;
    private static final int TURNS = 4;
    private static final int CONCURRENT = 6;

    @TempDir
    static Path tmp;

    private final List<SimWorker> sims = new ArrayList<>();
    private final RouterProcess[] routers = new RouterProcess[3];
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final Service service = new Service();
    private String[] routerArgs;
    /** Set once the rolled router is back: later turns from then on are counted apart. */
    private volatile boolean rolled;

    @AfterEach
    void stop() {
        for (RouterProcess r : routers) {
            if (r != null) {
                r.close();
            }
        }
        sims.forEach(SimWorker::close);
    }

    @Test
    void threeReplicasRouteAsOneAndLoseNothingToAKillOrARollingRestart() throws Exception {
        Path qwen = TokenizerFixtures.modelDirectory("qwen3", tmp);
        SimWorker first = SimWorker.start(sim(2, 0, 0, qwen));
        sims.add(first);
        int eventsPort = first.kvEvents().port();
        int replayPort = first.kvEvents().replayPort();
        for (int i = 1; i < WORKERS; i++) {
            sims.add(SimWorker.start(sim(2 + i, eventsPort, replayPort, qwen)));
        }
        routerArgs = new String[] {"--port", "0", "--prometheus-port", "0", "--worker-urls",
            String.join(",", sims.stream().map(SimWorker::url).toList()), "--policy", "cache_aware",
            "--kv-events-port", Integer.toString(eventsPort), "--kv-events-replay-port", Integer.toString(replayPort),
            "--tokenizer-path", qwen.toString(), "--load-check-interval-secs", "0.2", "--decision-header",
            "--shutdown-grace-period-secs", "30"};
        for (int r = 0; r < routers.length; r++) {
            routers[r] = RouterProcess.start(Map.of(), routerArgs);
        }
        for (int r = 0; r < routers.length; r++) {
            int port = routers[r].awaitListening();
            awaitExact(port);
            service.add(r, port);
        }

        // 1. one router
        service.only(0);
        Stats one = runConversations(0, 24, null);
        assertThat(one.failures).as("one router: failures").isEmpty();

        // 2. the same workload, new conversations, over the three
        resetCaches();
        service.all(routers.length);
        Stats three = runConversations(1000, 24, null);
        assertThat(three.failures).as("three routers: failures").isEmpty();
        assertThat(three.hitRate()).as("three routers' later-turn hit rate against one router's (%s vs %s)", three,
                one).isGreaterThanOrEqualTo(0.95 * one.hitRate());
        // 24 conversations over 4 workers: one more on the busiest worker is +0.17; three routers each rotate new
        // conversations on their own, so allow the busiest worker three more than one router gave it (herding, as
        // replicas without the workers' load would do, puts twice the mean or more there)
        assertThat(three.spread()).as("conversations per worker, max/mean (%s vs %s)", three, one)
                .isLessThanOrEqualTo(Math.max(one.spread(), 1.0) + 0.5);

        // 3. the workload again while router 2 is killed and router 1 is rolled
        resetCaches();
        Set<Long> inFlightOnKilled = ConcurrentHashMap.newKeySet();
        AtomicInteger lostStreams = new AtomicInteger();
        AtomicInteger rolledStreams = new AtomicInteger();
        Stats disturbed = runConversations(2000, 36, done -> {
            if (done == 40) {
                // a stream in flight on router 2 when it dies, as a long generation would be
                try {
                    Future<Boolean> stream = streamThrough(2);
                    inFlightOnKilled.addAll(service.removeAndKill(2, routers[2]));
                    if (!stream.get(60, TimeUnit.SECONDS)) {
                        lostStreams.incrementAndGet();
                    }
                } catch (Exception e) {
                    lostStreams.incrementAndGet();
                }
            } else if (done == 80) {
                roll(1, rolledStreams);
            }
        });
        // 4. new conversations once both are over (the run above may end before the roll does: the other lanes go on
        // while one waits for it), on the two routers left and the rolled one
        resetCaches();
        Stats after = runConversations(3000, 24, null);
        // the figures, for the record (docs/benchmarks.md)
        System.out.printf("ReplicasIT: one router: %s; three: %s; killed + rolled: %s; after: %s%n", one, three,
                disturbed, after);
        assertThat(lostStreams.get()).as("the stream on the killed router was cut").isEqualTo(1);
        assertThat(rolledStreams.get()).as("streams on the rolled router finished whole").isEqualTo(2);
        assertThat(disturbed.failures).as("failed requests, each must have been in flight on the killed router")
                .allMatch(inFlightOnKilled::contains);
        assertThat(after.failures).as("after the kill and the roll: failures").isEmpty();
        assertThat(after.hitRate()).as("later turns after the kill and the roll (%s) vs one router (%s)", after, one)
                .isGreaterThanOrEqualTo(0.95 * one.hitRate());
    }

    private static SimConfig sim(int address, int eventsPort, int replayPort, Path tokenizer) {
        return SimConfig.builder().host("127.0.0." + address).workerId("sim-" + address).kvEventsPort(eventsPort)
                .kvEventsReplayPort(replayPort).tokenizerPath(tokenizer).ttft(Duration.ofMillis(10))
                .interTokenLatency(Duration.ofMillis(5)).build();
    }

    /** SIGTERM to router {@code r} with two streams running on it, after the Service dropped it; a new one joins. */
    private void roll(int r, AtomicInteger finished) {
        try {
            List<Future<Boolean>> streams = List.of(streamThrough(r), streamThrough(r));
            service.remove(r);
            // preStop: requests the Service sent before it dropped the router reach it before SIGTERM
            await().atMost(WAIT).until(() -> service.idle(r));
            routers[r].terminate();
            for (Future<Boolean> s : streams) {
                if (s.get(60, TimeUnit.SECONDS)) {
                    finished.incrementAndGet();
                }
            }
            assertThat(routers[r].awaitExit()).as("the drained router's exit status").isZero();
            routers[r].close();
            routers[r] = RouterProcess.start(Map.of(), routerArgs);
            int port = routers[r].awaitListening();
            awaitExact(port);
            service.add(r, port);
            rolled = true;
        } catch (Exception e) {
            throw new AssertionError("rolling router " + r + " failed", e);
        }
    }

    /**
     * Starts a long stream on router {@code r} and returns once its first event arrived; the future says whether it
     * ended with {@code [DONE]}.
     */
    private Future<Boolean> streamThrough(int r) throws Exception {
        int port = service.port(r);
        CountDownLatch started = new CountDownLatch(1);
        Future<Boolean> f = Executors.newVirtualThreadPerTaskExecutor().submit(() -> {
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"demo\",\"stream\":true,\"max_tokens\":200,\"messages\":"
                                    + "[{\"role\":\"user\",\"content\":\"a long answer please\"}]}")).build();
            try {
                HttpResponse<InputStream> res = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
                boolean done = false;
                try (BufferedReader in = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        started.countDown();
                        done |= line.equals("data: [DONE]");
                    }
                }
                return res.statusCode() == 200 && done;
            } catch (IOException e) {
                return false;
            } finally {
                started.countDown();
            }
        });
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        return f;
    }

    /** Empties every worker's cache (their events say so: every router's index drops them) and waits for the routers. */
    private void resetCaches() throws Exception {
        for (SimWorker s : sims) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(s.url() + "/reset_prefix_cache"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
        }
        awaitCaughtUp();
    }

    /** Waits until every router the Service holds applied every batch the workers published so far. */
    private void awaitCaughtUp() {
        Map<String, Long> target = new HashMap<>();
        for (SimWorker s : sims) {
            target.put(s.url(), s.kvEvents().published() - 1);
        }
        for (int port : service.ports()) {
            // a router dropped from the Service meanwhile (killed, rolled) no longer counts
            await().atMost(WAIT).pollInterval(Duration.ofMillis(5)).ignoreExceptions().until(() -> {
                if (!service.ports().contains(port)) {
                    return true;
                }
                for (JsonNode w : workers(port)) {
                    Long want = target.get(w.path("url").asText());
                    if (want != null && w.path("kv_events").path("last_sequence").asLong(-1) < want) {
                        return false;
                    }
                }
                return true;
            });
        }
    }

    /** Waits until the router on {@code port} is ready and holds every worker's index as exact. */
    private void awaitExact(int port) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
            JsonNode ws = workers(port);
            if (ws.size() != WORKERS) {
                return false;
            }
            for (JsonNode w : ws) {
                if (!w.path("kv_events").path("state").asText().equals("exact")) {
                    return false;
                }
            }
            return true;
        });
    }

    private JsonNode workers(int port) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/workers"))
                .build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body()).path("workers");
    }

    /**
     * Runs {@code count} conversations of {@link #TURNS} turns, {@link #CONCURRENT} at a time, each request through
     * the Service; {@code afterRequest} (if any) is called with the number of requests done so far, on the thread
     * that finished one (the others go on meanwhile). A request that fails is recorded and the turn is sent again.
     */
    private Stats runConversations(int firstId, int count, java.util.function.IntConsumer afterRequest)
            throws Exception {
        Stats stats = new Stats();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> lanes = new ArrayList<>();
            for (int lane = 0; lane < CONCURRENT; lane++) {
                lanes.add(pool.submit(() -> {
                    for (int c; (c = next.getAndIncrement()) < count; ) {
                        for (int t = 0; t < TURNS; t++) {
                            awaitCaughtUp();
                            while (true) {
                                Service.Call call = service.dispatch();
                                Answer a = chat(call.port(), messages(firstId + c, t));
                                service.done(call);
                                if (a == null) {
                                    stats.failures.add(call.id());
                                    continue;
                                }
                                stats.record(firstId + c, t, a, rolled);
                                break;
                            }
                            if (afterRequest != null) {
                                afterRequest.accept(done.incrementAndGet());
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : lanes) {
                f.get(5, TimeUnit.MINUTES);
            }
        }
        return stats;
    }

    private static String messages(int conversation, int turns) {
        return dev.vllmrouter.testing.ChatMessages.conversation(conversation, turns);
    }

    /** One answer, or {@code null} when the request failed (no answer, or not a 200 with a whole body). */
    private Answer chat(int port, String messages) {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"max_tokens\":4,\"messages\":"
                        + messages + "}")).build();
        try {
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return null;
            }
            JsonNode body = JSON.readTree(r.body());
            if (body.path("choices").isEmpty()) {
                return null;
            }
            JsonNode usage = body.path("usage");
            String decision = r.headers().firstValue("x-vllm-router-decision").orElse("");
            String worker = "";
            for (String part : decision.split("; ")) {
                if (part.startsWith("worker=")) {
                    worker = part.substring("worker=".length());
                }
            }
            return new Answer(worker, usage.path("prompt_tokens").asInt(),
                    usage.path("prompt_tokens_details").path("cached_tokens").asInt(0));
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private record Answer(String worker, int promptTokens, int cachedTokens) {
    }

    /** What a run measured: later turns' cached and prompt tokens (after the disturbances too), and where each went. */
    private static final class Stats {
        final List<Long> failures = new CopyOnWriteArrayList<>();
        final AtomicLong cached = new AtomicLong();
        final AtomicLong prompt = new AtomicLong();
        final AtomicLong cachedAfter = new AtomicLong();
        final AtomicLong promptAfter = new AtomicLong();
        final Map<Integer, String> homes = new ConcurrentHashMap<>();

        void record(int conversation, int turn, Answer a, boolean after) {
            if (turn == 0) {
                homes.put(conversation, a.worker());
                return;
            }
            cached.addAndGet(a.cachedTokens());
            prompt.addAndGet(a.promptTokens());
            if (after) {
                cachedAfter.addAndGet(a.cachedTokens());
                promptAfter.addAndGet(a.promptTokens());
            }
        }

        double hitRate() {
            return prompt.get() == 0 ? 0 : (double) cached.get() / prompt.get();
        }

        double afterHitRate() {
            return promptAfter.get() == 0 ? 0 : (double) cachedAfter.get() / promptAfter.get();
        }

        /** Conversations per worker (where each first turn went), max over mean. */
        double spread() {
            Map<String, Integer> per = new HashMap<>();
            homes.values().forEach(w -> per.merge(w, 1, Integer::sum));
            double mean = (double) homes.size() / WORKERS;
            return per.values().stream().mapToInt(Integer::intValue).max().orElse(0) / mean;
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "hit %.3f (after %.3f), spread %.2f, failures %d", hitRate(),
                    afterHitRate(), spread(), failures.size());
        }
    }

    /**
     * The Kubernetes Service in front of the routers: each request goes to a ready endpoint at random; an endpoint is
     * dropped before its router is killed or terminated (for a kill the drop and the kill are one step here, so that
     * the only requests that can fail are those already in flight on it).
     */
    private static final class Service {
        record Call(long id, int replica, int port) {
        }

        private final Map<Integer, Integer> endpoints = new HashMap<>();
        private final Map<Long, Integer> inFlight = new HashMap<>();
        private final SplittableRandom random = new SplittableRandom(14);
        private final Set<Integer> allowed = new HashSet<>();
        private long ids;

        synchronized void add(int replica, int port) {
            endpoints.put(replica, port);
        }

        synchronized void only(int replica) {
            allowed.clear();
            allowed.add(replica);
        }

        synchronized void all(int n) {
            allowed.clear();
            for (int i = 0; i < n; i++) {
                allowed.add(i);
            }
        }

        synchronized List<Integer> ports() {
            return endpoints.entrySet().stream().filter(e -> allowed.contains(e.getKey())).map(Map.Entry::getValue)
                    .toList();
        }

        synchronized int port(int replica) {
            return endpoints.get(replica);
        }

        synchronized Call dispatch() {
            List<Integer> ready = endpoints.keySet().stream().filter(allowed::contains).sorted().toList();
            int replica = ready.get(random.nextInt(ready.size()));
            Call call = new Call(ids++, replica, endpoints.get(replica));
            inFlight.put(call.id(), replica);
            return call;
        }

        synchronized void done(Call call) {
            inFlight.remove(call.id());
        }

        synchronized void remove(int replica) {
            endpoints.remove(replica);
        }

        /** No call the Service sent to {@code replica} is still running. */
        synchronized boolean idle(int replica) {
            return !inFlight.containsValue(replica);
        }

        /** Drops the endpoint and kills its router (SIGKILL) in one step; returns the calls in flight on it. */
        synchronized Set<Long> removeAndKill(int replica, RouterProcess router) {
            endpoints.remove(replica);
            router.close(); // destroyForcibly: SIGKILL
            Set<Long> out = new HashSet<>();
            inFlight.forEach((id, r) -> {
                if (r == replica) {
                    out.add(id);
                }
            });
            return out;
        }
    }
}
