package dev.vllmrouter.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Router replicas as real processes (issue 14), in wall-clock time: simulated vLLM workers (separate processes,
 * {@code vllm-router sim-worker}, publishing KV events, tokenizing with Qwen3's files, prefill time per uncached token,
 * a batch limit) and one or three routers ({@code scripts/vllm-router}, the launcher's JVM flags), with a client that
 * sends each request to one router at random, as a Kubernetes Service does, keeping {@code lanes} multi-turn chats
 * going (streamed, {@code include_usage}; each turn's history holds the answers actually received).
 * <p>Runs, each with new router processes and emptied worker caches: one router and three, with the approximate tree
 * (cache_aware without events) and with the KV-event index; then three with the index while one is killed (SIGKILL)
 * after a third of the requests and another rolled (SIGTERM, drained, restarted with the same flags) after two thirds.
 * A warm-up run (a quarter of the conversations, one router, not reported) comes first. Prints one Markdown table: later turns' prefix hit rate (cached / prompt tokens, turns after the first), requests per
 * worker max/mean, time to first token p50/p99 as the client saw it, failed requests.
 * <p>Arguments (name=value): launcher (scripts/vllm-router), tokenizer (a model directory), work (a directory for
 * logs), workers (4), conversations (96), turns (6), lanes (24), think_ms (300), base_port (18300).
 */
public final class ReplicaBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int EVENTS_PORT = 18357;
    private static final int REPLAY_PORT = 18358;
    private static final String SYSTEM = ("You are a helpful assistant for a cloud operations team. Answer precisely, "
            + "cite the runbook section you rely on, and prefer short commands over long explanations. ").repeat(12);

    private final Map<String, String> args;
    private final Path launcher;
    private final Path tokenizer;
    private final Path work;
    private final int workers;
    private int conversations;
    private final int turns;
    private final int lanes;
    private final int thinkMs;
    private final int basePort;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Process> sims = new ArrayList<>();
    private final List<String> simUrls = new ArrayList<>();

    private ReplicaBench(Map<String, String> args) {
        this.args = args;
        this.launcher = Path.of(args.getOrDefault("launcher", "scripts/vllm-router"));
        this.tokenizer = Path.of(required(args, "tokenizer"));
        this.work = Path.of(required(args, "work"));
        this.workers = Integer.parseInt(args.getOrDefault("workers", "4"));
        this.conversations = Integer.parseInt(args.getOrDefault("conversations", "96"));
        this.turns = Integer.parseInt(args.getOrDefault("turns", "6"));
        this.lanes = Integer.parseInt(args.getOrDefault("lanes", "24"));
        this.thinkMs = Integer.parseInt(args.getOrDefault("think_ms", "300"));
        this.basePort = Integer.parseInt(args.getOrDefault("base_port", "18300"));
    }

    private static String required(Map<String, String> args, String name) {
        String v = args.get(name);
        if (v == null) {
            throw new IllegalArgumentException("missing argument " + name + "=...");
        }
        return v;
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (String a : argv) {
            int eq = a.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("expected name=value, got " + a);
            }
            args.put(a.substring(0, eq), a.substring(eq + 1));
        }
        ReplicaBench bench = new ReplicaBench(args);
        try {
            bench.run();
        } finally {
            bench.sims.forEach(Process::destroyForcibly);
        }
    }

    /** One router process, its port and how it was started. */
    private final class Router {
        final int index;
        final List<String> flags;
        Process process;
        int port;

        Router(int index, List<String> flags) {
            this.index = index;
            this.flags = flags;
        }

        void start() throws Exception {
            port = basePort + 50 + index;
            List<String> cmd = new ArrayList<>(List.of(launcher.toString(), "--port", Integer.toString(port),
                    "--prometheus-port", Integer.toString(basePort + 60 + index), "--worker-urls",
                    String.join(",", simUrls)));
            cmd.addAll(flags);
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve("router-" + index + ".log").toFile()))
                    .start();
            awaitReady(port, flags.contains("--kv-events-port"));
        }
    }

    private void run() throws Exception {
        Files.createDirectories(work);
        for (int i = 0; i < workers; i++) {
            String host = "127.0.0." + (2 + i);
            List<String> cmd = List.of(launcher.toString(), "sim-worker", "--host", host, "--port",
                    Integer.toString(basePort), "--worker-id", "sim-" + i, "--ttft-ms", "10", "--itl-ms", "8",
                    "--max-tokens", "48", "--max-num-seqs", "8", "--prefill-us-per-token", "40", "--cache-blocks",
                    args.getOrDefault("cache_blocks", "1024"), "--kv-events-port", Integer.toString(EVENTS_PORT),
                    "--kv-events-replay-port", Integer.toString(REPLAY_PORT), "--tokenizer-path",
                    tokenizer.toString());
            sims.add(new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(work.resolve("sim-" + i + ".log").toFile()).start());
            simUrls.add("http://" + host + ":" + basePort);
        }
        for (String url : simUrls) {
            awaitHttp(url + "/health");
        }
        List<String> common = List.of("--policy", "cache_aware", "--load-check-interval-secs", "0.25",
                "--decision-header", "--shutdown-grace-period-secs", "30");
        List<String> kv = new ArrayList<>(common);
        kv.addAll(List.of("--kv-events-port", Integer.toString(EVENTS_PORT), "--kv-events-replay-port",
                Integer.toString(REPLAY_PORT), "--tokenizer-path", tokenizer.toString()));
        // warm-up, not reported: the workers' and the client's JIT, the first-turn paths
        Table warm = new Table("routers", "policy", "requests", "failed", "later-turn hit rate", "vs one router",
                "requests per worker max/mean", "TTFT p50 ms", "TTFT p99 ms", "wall s");
        int configured = conversations;
        conversations = Math.max(lanes, conversations / 4);
        phase("1", "warm-up", common, 1, 90_000, warm, null);
        conversations = configured;
        Table t = new Table("routers", "policy", "requests", "failed", "later-turn hit rate", "vs one router",
                "requests per worker max/mean", "TTFT p50 ms", "TTFT p99 ms", "wall s");
        Result treeOne = phase("1", "cache_aware (tree)", common, 1, 0, t, null);
        phase("3", "cache_aware (tree)", common, 3, 10_000, t, treeOne);
        Result kvOne = phase("1", "cache_aware (KV-event index)", kv, 1, 20_000, t, null);
        phase("3", "cache_aware (KV-event index)", kv, 3, 30_000, t, kvOne);
        phase("3, one SIGKILLed at 1/3, one rolled at 2/3", "cache_aware (KV-event index)", kv, 3, 40_000, t,
                kvOne);
        System.out.printf(Locale.ROOT, "## Router replicas as processes (%d workers, %d conversations of %d turns, "
                + "%d at a time, think %d ms)%n%n", workers, conversations, turns, lanes, thinkMs);
        System.out.print(t.render());
    }

    private Result phase(String label, String policy, List<String> flags, int n, int firstConversation, Table table,
                         Result reference) throws Exception {
        resetCaches();
        Router[] routers = new Router[n];
        for (int i = 0; i < n; i++) {
            routers[i] = new Router(i, flags);
            routers[i].start();
        }
        Service service = new Service(routers);
        boolean disturb = label.contains("SIGKILL");
        int total = conversations * turns;
        AtomicInteger killed = new AtomicInteger();
        IntConsumer after = !disturb ? null : done -> {
            try {
                if (done == total / 3) {
                    service.kill(2);
                    killed.incrementAndGet();
                } else if (done == 2 * total / 3) {
                    service.roll(1);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        long started = System.nanoTime();
        Result r = drive(service, firstConversation, after);
        double wall = (System.nanoTime() - started) / 1e9;
        for (Router router : routers) {
            if (router.process != null) {
                router.process.destroy();
                router.process.waitFor(60, TimeUnit.SECONDS);
            }
        }
        table.row(label, policy, Integer.toString(r.requests.get()), Integer.toString(r.failures.get()),
                Table.pct(r.hitRate()), reference == null ? "100.0 %" : Table.pct(r.hitRate() / reference.hitRate()),
                Table.num(r.spread(workers), 2), Table.num(r.ttftPercentile(0.5), 0),
                Table.num(r.ttftPercentile(0.99), 0), Table.num(wall, 1));
        System.err.printf(Locale.ROOT, "[replicas] %s routers, %s: %s%n", label, policy, r);
        return r;
    }

    /** The Kubernetes Service: a random ready router per request; a router is dropped before it is killed or rolled. */
    private final class Service {
        final Router[] routers;
        final boolean[] ready;
        final Map<Integer, AtomicInteger> inFlight = new ConcurrentHashMap<>();
        final SplittableRandom random = new SplittableRandom(14);

        Service(Router[] routers) {
            this.routers = routers;
            this.ready = new boolean[routers.length];
            Arrays.fill(ready, true);
            for (int i = 0; i < routers.length; i++) {
                inFlight.put(i, new AtomicInteger());
            }
        }

        synchronized int pick() {
            int r;
            do {
                r = random.nextInt(routers.length);
            } while (!ready[r]);
            inFlight.get(r).incrementAndGet();
            return r;
        }

        void done(int r) {
            inFlight.get(r).decrementAndGet();
        }

        void kill(int r) {
            synchronized (this) {
                ready[r] = false;
            }
            routers[r].process.destroyForcibly();
        }

        void roll(int r) throws Exception {
            synchronized (this) {
                ready[r] = false;
            }
            while (inFlight.get(r).get() > 0) { // preStop: what the Service already sent arrives before SIGTERM
                Thread.sleep(5);
            }
            routers[r].process.destroy();
            routers[r].process.waitFor(60, TimeUnit.SECONDS);
            routers[r].start();
            synchronized (this) {
                ready[r] = true;
            }
        }
    }

    /** What one run measured. */
    private static final class Result {
        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger failures = new AtomicInteger();
        final AtomicLong cached = new AtomicLong();
        final AtomicLong prompt = new AtomicLong();
        final Map<String, AtomicInteger> perWorker = new ConcurrentHashMap<>();
        final List<Long> ttftMicros = java.util.Collections.synchronizedList(new ArrayList<>());

        double hitRate() {
            return prompt.get() == 0 ? 0 : (double) cached.get() / prompt.get();
        }

        double spread(int workers) {
            int max = perWorker.values().stream().mapToInt(AtomicInteger::get).max().orElse(0);
            int sum = perWorker.values().stream().mapToInt(AtomicInteger::get).sum();
            return sum == 0 ? 0 : max / ((double) sum / workers);
        }

        double ttftPercentile(double q) {
            long[] v;
            synchronized (ttftMicros) {
                v = ttftMicros.stream().mapToLong(Long::longValue).sorted().toArray();
            }
            return v.length == 0 ? 0 : v[Math.max(0, (int) Math.ceil(q * v.length) - 1)] / 1000.0;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d requests, %d failed, later-turn hit %.3f, per worker %s",
                    requests.get(), failures.get(), hitRate(), perWorker);
        }
    }

    private Result drive(Service service, int firstConversation, IntConsumer after) throws Exception {
        Result r = new Result();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> all = new ArrayList<>();
            for (int lane = 0; lane < lanes; lane++) {
                all.add(pool.submit(() -> {
                    for (int c; (c = next.getAndIncrement()) < conversations; ) {
                        int id = firstConversation + c;
                        SplittableRandom random = new SplittableRandom(id);
                        List<String> history = new ArrayList<>();
                        for (int t = 0; t < turns; t++) {
                            Thread.sleep(Math.round(-Math.log(1 - random.nextDouble()) * thinkMs));
                            history.add(question(id, t, random));
                            String answer = null;
                            while (answer == null) {
                                int router = service.pick();
                                try {
                                    answer = turn(service.routers[router].port, history, t > 0, r);
                                } finally {
                                    service.done(router);
                                }
                                if (answer == null) {
                                    r.failures.incrementAndGet();
                                }
                            }
                            history.add(answer);
                            if (after != null) {
                                after.accept(done.incrementAndGet());
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get(30, TimeUnit.MINUTES);
            }
        }
        return r;
    }

    private static String question(int conversation, int turn, SplittableRandom random) {
        StringBuilder sb = new StringBuilder("Ticket ").append(conversation).append(", question ").append(turn)
                .append(": ");
        String[] words = {"deploy", "cluster", "node", "replica", "latency", "cache", "restart", "rollback",
            "quota", "disk", "network", "ingress", "certificate", "scaling", "alert", "metrics"};
        while (sb.length() < 600) {
            sb.append(words[random.nextInt(words.length)]).append(' ');
        }
        return sb.toString();
    }

    /** One streamed turn through the router on {@code port}; the answer's text, or null when it failed. */
    private String turn(int port, List<String> history, boolean later, Result r) {
        StringBuilder body = new StringBuilder("{\"model\":\"demo\",\"stream\":true,\"stream_options\":"
                + "{\"include_usage\":true},\"messages\":[{\"role\":\"system\",\"content\":")
                .append(quote(SYSTEM)).append('}');
        for (int i = 0; i < history.size(); i++) {
            body.append(",{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant").append("\",\"content\":")
                    .append(quote(history.get(i))).append('}');
        }
        body.append("]}");
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        long sent = System.nanoTime();
        try {
            HttpResponse<InputStream> res = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            StringBuilder answer = new StringBuilder();
            long first = -1;
            boolean done = false;
            JsonNode usage = null;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (!line.startsWith("data: ")) {
                        continue;
                    }
                    String data = line.substring(6);
                    if (data.equals("[DONE]")) {
                        done = true;
                        continue;
                    }
                    JsonNode event = JSON.readTree(data);
                    JsonNode delta = event.path("choices").path(0).path("delta").path("content");
                    if (delta.isTextual()) {
                        if (first < 0) {
                            first = System.nanoTime();
                        }
                        answer.append(delta.asText());
                    }
                    if (event.hasNonNull("usage")) {
                        usage = event.get("usage");
                    }
                }
            }
            if (res.statusCode() != 200 || !done) {
                return null;
            }
            r.requests.incrementAndGet();
            String worker = res.headers().firstValue("x-vllm-router-decision").map(ReplicaBench::workerOf)
                    .orElse("?");
            r.perWorker.computeIfAbsent(worker, w -> new AtomicInteger()).incrementAndGet();
            if (first > 0) {
                r.ttftMicros.add((first - sent) / 1000);
            }
            if (later && usage != null) {
                r.cached.addAndGet(usage.path("prompt_tokens_details").path("cached_tokens").asLong());
                r.prompt.addAndGet(usage.path("prompt_tokens").asLong());
            }
            return answer.toString();
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static String workerOf(String decision) {
        for (String part : decision.split("; ")) {
            if (part.startsWith("worker=")) {
                return part.substring(7);
            }
        }
        return "?";
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void resetCaches() throws Exception {
        for (String url : simUrls) {
            http.send(HttpRequest.newBuilder(URI.create(url + "/reset_prefix_cache"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        }
    }

    private void awaitHttp(String url) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // starting
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException(url + " did not come up");
    }

    /** Ready, and with events: every worker's index exact (a new router catches up from the replay buffers). */
    private void awaitReady(int port, boolean events) throws Exception {
        awaitHttp("http://127.0.0.1:" + port + "/readiness");
        if (!events) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/workers"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            JsonNode ws = JSON.readTree(body).path("workers");
            boolean exact = ws.size() == workers;
            for (JsonNode w : ws) {
                exact &= w.path("kv_events").path("state").asText().equals("exact");
            }
            if (exact) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("router on " + port + " did not reach exact indexes");
    }
}
