package dev.vllmrouter.monitor;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.ModelAdapters;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * Control-plane loop that keeps two facts about every worker server fresh, asking each server once (not once per DP
 * rank), all servers concurrently, each call bounded by a timeout:
 * <ul>
 *   <li><b>queue</b> — every {@code --load-check-interval-secs} (only when a load-aware policy runs):
 *       {@code running + waiting} from {@code /metrics} per engine (DP rank), else vLLM's {@code /load}
 *       ({@code server_load}); recorded with {@link Worker#observeQueue}. A server that cannot be scraped has its
 *       external load cleared, so a scrape failure never steers traffic;</li>
 *   <li><b>models</b> — the ids in its {@code /v1/models}, every {@value #MODEL_REFRESH_SECONDS} s and as soon as a
 *       server's models are unknown; published to the registry (which versions the snapshot). A server that does not
 *       answer keeps its last known models.</li>
 * </ul>
 * One daemon thread runs the loop; the calls run on virtual threads, one set at a time per server, and the loop does
 * not wait for them: a server that hangs is skipped until its calls end, never delaying the other servers' samples.
 * With several router replicas the queue is what each replica knows of the others' traffic, so their interval
 * ({@code --load-check-interval-secs}, fractions allowed) is what bounds its staleness.
 */
public final class WorkerMonitor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WorkerMonitor.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int MODEL_REFRESH_SECONDS = 60;
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);

    private final WorkerRegistry registry;
    private final UpstreamClient client;
    private final Ticker ticker;
    private final Duration interval;
    private final boolean scrapeLoads;
    private final String authorization;
    private final Map<String, Long> modelsFetchedAt = new java.util.concurrent.ConcurrentHashMap<>();
    /** Servers whose calls are running (at most one set of calls per server at a time). */
    private final Set<String> busy = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final ModelAdapters adapters;
    private final ExecutorService calls = Executors.newVirtualThreadPerTaskExecutor();
    private volatile boolean closed;
    private Thread loop;

    /**
     * @param interval    seconds between rounds ({@code --load-check-interval-secs})
     * @param scrapeLoads whether the policy uses the workers' queues
     */
    public WorkerMonitor(WorkerRegistry registry, UpstreamClient client, Ticker ticker, Duration interval,
                         boolean scrapeLoads) {
        this(registry, client, ticker, interval, scrapeLoads, null);
    }

    /**
     * @param workerKey the key workers were started with ({@code --api-key}; under PD, else {@code OPENAI_API_KEY}),
     *                  sent on {@code /v1/models}, which vLLM started with {@code --api-key} protects; or {@code null}
     */
    public WorkerMonitor(WorkerRegistry registry, UpstreamClient client, Ticker ticker, Duration interval,
                         boolean scrapeLoads, String workerKey) {
        this(registry, client, ticker, interval, scrapeLoads, workerKey, null);
    }

    /** @param adapters where the LoRA adapters each server lists are recorded ({@code /v1/models} cards with a parent) */
    public WorkerMonitor(WorkerRegistry registry, UpstreamClient client, Ticker ticker, Duration interval,
                         boolean scrapeLoads, String workerKey, ModelAdapters adapters) {
        this.adapters = adapters;
        this.authorization = workerKey == null ? null : "Bearer " + workerKey;
        this.registry = registry;
        this.client = client;
        this.ticker = ticker;
        this.interval = interval;
        this.scrapeLoads = scrapeLoads;
    }

    /** Starts the background loop (after one synchronous round, so the first requests see models and loads). */
    public WorkerMonitor start() {
        round();
        loop = Thread.ofPlatform().daemon().name("vllm-router-monitor").start(() -> {
            while (!closed) {
                try {
                    Thread.sleep(interval);
                    round(false);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "worker monitor round failed: " + e);
                }
            }
        });
        return this;
    }

    /**
     * One round (loads if scraped, due model refreshes, every server concurrently), waiting for its calls up to the
     * call timeout (and a little): a server still being asked after that is left to finish in the background.
     */
    public void round() {
        round(true);
    }

    /**
     * One round. Each server's calls run on their own virtual thread, one at a time per server: a server whose
     * previous calls are still running (it is slow or hangs, up to the call timeout) is skipped, so it never delays
     * the other servers' samples, whatever the interval.
     *
     * @param wait whether to wait for this round's calls (the loop does not: its next round skips the busy servers)
     */
    private void round(boolean wait) {
        WorkerSnapshot snapshot = registry.snapshot();
        Map<String, List<Worker>> byBase = new LinkedHashMap<>();
        for (Worker w : snapshot.workers()) {
            byBase.computeIfAbsent(w.baseUrl(), b -> new ArrayList<>()).add(w);
        }
        modelsFetchedAt.keySet().retainAll(byBase.keySet());
        if (adapters != null) {
            adapters.retain(byBase.keySet());
        }
        long now = ticker.nanos();
        List<Future<?>> started = new ArrayList<>();
        for (Map.Entry<String, List<Worker>> e : byBase.entrySet()) {
            String base = e.getKey();
            Long fetched = modelsFetchedAt.get(base);
            boolean unknown = snapshot.modelsOf(e.getValue().get(0).id()) == null;
            boolean modelsDue = unknown || fetched == null
                    || now - fetched >= TimeUnit.SECONDS.toNanos(MODEL_REFRESH_SECONDS);
            if (!(scrapeLoads || modelsDue) || !busy.add(base)) {
                continue;
            }
            try {
                started.add(calls.submit(() -> {
                    try {
                        if (scrapeLoads) {
                            scrapeLoad(base, e.getValue());
                        }
                        if (modelsDue) {
                            refreshModels(base);
                        }
                    } finally {
                        busy.remove(base);
                    }
                }));
            } catch (RejectedExecutionException closing) {
                busy.remove(base);
                return;
            }
        }
        if (wait) {
            // one deadline for the round: a server that hangs through every call holds the start-up back no longer
            long deadline = System.nanoTime() + CALL_TIMEOUT.toNanos() + TimeUnit.MILLISECONDS.toNanos(500);
            for (Future<?> f : started) {
                try {
                    f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (Exception ignored) {
                    // each call logs and handles its own failure
                }
            }
        }
    }

    /** Asks {@code base} for its models and records them; returns them, or {@code null} when it did not answer. */
    public Set<String> refreshModels(String base) {
        Set<String> models = fetchModels(base);
        modelsFetchedAt.put(base, ticker.nanos());
        if (models != null) {
            registry.updateModels(base, models);
        }
        return models;
    }

    /** The models {@code base} serves per its {@code /v1/models}, or {@code null} when it does not answer. */
    public Set<String> fetchModels(String base) {
        try (UpstreamResponse up = client.send(base, "GET", base, "/v1/models", h -> {
            if (authorization != null) {
                h.add("Authorization", authorization);
            }
        }, null, CALL_TIMEOUT)) {
            byte[] body = up.body().readAllBytes();
            if (up.status() / 100 != 2) {
                return null;
            }
            JsonNode data = JSON.readTree(body).path("data");
            Set<String> ids = new HashSet<>();
            Map<String, String> loras = new java.util.HashMap<>();
            for (JsonNode card : data) {
                String id = card.path("id").asText(null);
                if (id != null) {
                    ids.add(id);
                    JsonNode parent = card.get("parent");
                    if (parent != null && parent.isTextual() && !parent.textValue().equals(id)) {
                        loras.put(id, parent.textValue()); // a LoRA adapter of that base model
                    }
                }
            }
            if (adapters != null && !ids.isEmpty()) {
                adapters.update(base, loras);
            }
            return ids.isEmpty() ? null : ids;
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "models of {0}: {1}", base, e.toString());
            return null;
        }
    }

    private void scrapeLoad(String base, List<Worker> ranks) {
        Map<String, Integer> queue = null;
        try (UpstreamResponse up = client.send(base, "GET", base, "/metrics", h -> { }, null, CALL_TIMEOUT)) {
            String text = new String(up.body().readAllBytes(), StandardCharsets.UTF_8);
            if (up.status() / 100 == 2) {
                queue = VllmMetrics.queueByEngine(text);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "metrics of {0}: {1}", base, e.toString());
        }
        if (queue == null || queue.isEmpty()) {
            Integer load = serverLoad(base);
            queue = load == null ? null : Map.of("", load);
        }
        for (Worker w : ranks) {
            if (queue == null) {
                w.clearExternalLoad();
            } else if (w.dpRank() >= 0 && queue.containsKey(Integer.toString(w.dpRank()))) {
                w.observeQueue(queue.get(Integer.toString(w.dpRank())), ticker.nanos());
            } else {
                int total = queue.values().stream().mapToInt(Integer::intValue).sum();
                // a server without per-engine figures: share its total among the ranks we route to
                w.observeQueue(w.dpRank() >= 0 ? total / ranks.size() : total, ticker.nanos());
            }
        }
    }

    private Integer serverLoad(String base) {
        try (UpstreamResponse up = client.send(base, "GET", base, "/load", h -> { }, null, CALL_TIMEOUT)) {
            byte[] body = up.body().readAllBytes();
            if (up.status() / 100 != 2) {
                return null;
            }
            JsonNode load = JSON.readTree(body).get("server_load");
            return load != null && load.canConvertToInt() ? load.asInt() : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public void close() {
        closed = true;
        if (loop != null) {
            loop.interrupt();
        }
        calls.shutdownNow();
    }
}
