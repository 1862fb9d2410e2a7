package dev.vllmrouter.pd;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Worker;

/**
 * Mooncake's engine ids: each prefill server runs a bootstrap server ({@code http://<host>:<bootstrap port, default
 * 8998>/query}) answering {@code {"<dp rank>": {"engine_id": "..."}, ...}}; the decode worker needs the prefill's
 * engine id and bootstrap address to fetch the KV cache. Queried once per prefill server at start-up, with retries
 * (1, 2, 4, 8, 10, 10 ... s, up to {@code attempts}) — a prefill that never answers stops the start with a clear error,
 * as in vllm-router — and for prefill servers added later, on first use.
 */
public final class MooncakeBootstrap {
    private static final System.Logger LOG = System.getLogger(MooncakeBootstrap.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final int DEFAULT_PORT = 8998;

    /** How the start-up wait sleeps between attempts (a seam for tests). */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    private final UpstreamClient client;
    private final Sleeper sleeper;
    private final int attempts;
    private final ConcurrentHashMap<String, Map<Integer, String>> engines = new ConcurrentHashMap<>();

    public MooncakeBootstrap(UpstreamClient client, Sleeper sleeper, int attempts) {
        this.client = client;
        this.sleeper = sleeper;
        this.attempts = attempts;
    }

    /** {@code http://<prefill host>:<bootstrap port>}. */
    public static String bootstrapAddress(Worker prefill) {
        String hostPort = prefill.hostPort();
        int colon = hostPort.lastIndexOf(':');
        String host = colon > 0 && !hostPort.endsWith("]") ? hostPort.substring(0, colon) : hostPort;
        int port = prefill.bootstrapPort() > 0 ? prefill.bootstrapPort() : DEFAULT_PORT;
        return "http://" + host + ":" + port;
    }

    /**
     * Queries {@code prefill}'s bootstrap server until it answers (start-up).
     *
     * @throws IllegalStateException when it did not answer after all attempts
     */
    public void await(Worker prefill) {
        String addr = bootstrapAddress(prefill);
        long delay = 1;
        for (int i = 1; i <= attempts; i++) {
            Map<Integer, String> ids = query(addr);
            if (ids != null) {
                engines.put(addr, ids);
                LOG.log(Level.INFO, "mooncake: {0} engines {1}", addr, ids);
                return;
            }
            if (i < attempts) {
                try {
                    sleeper.sleep(Duration.ofSeconds(delay));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                delay = Math.min(delay * 2, 10);
            }
        }
        throw new IllegalStateException("mooncake: the bootstrap server of prefill " + prefill.id() + " (" + addr
                + "/query) did not answer after " + attempts + " attempts");
    }

    /** The engine id of {@code prefill}'s DP rank (rank 0 for a plain worker), else any; {@code null} if unknown. */
    public String engineId(Worker prefill) {
        String addr = bootstrapAddress(prefill);
        Map<Integer, String> ids = engines.computeIfAbsent(addr, a -> {
            Map<Integer, String> q = query(a);
            return q == null ? Map.of() : q;
        });
        String id = ids.get(Math.max(0, prefill.dpRank()));
        return id != null ? id : ids.values().stream().findFirst().orElse(null);
    }

    private Map<Integer, String> query(String addr) {
        try (UpstreamResponse up = client.send(addr, "GET", addr, "/query", h -> { }, null, Duration.ofSeconds(5))) {
            byte[] body = up.body().readAllBytes();
            if (up.status() / 100 != 2) {
                return null;
            }
            Map<Integer, String> ids = new HashMap<>();
            JSON.readTree(body).fields().forEachRemaining(e -> {
                String engine = e.getValue().path("engine_id").asText(null);
                try {
                    if (engine != null) {
                        ids.put(Integer.parseInt(e.getKey()), engine);
                    }
                } catch (NumberFormatException ignored) {
                    // not a rank
                }
            });
            return ids.isEmpty() ? null : ids;
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "mooncake query {0}: {1}", addr, e.toString());
            return null;
        }
    }
}
