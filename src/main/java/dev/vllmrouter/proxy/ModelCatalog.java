package dev.vllmrouter.proxy;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.Headers;

import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamException;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code GET /v1/models} for the fleet: asks every available server (once per host, not per DP rank) concurrently
 * and answers the union of their model cards, deduplicated by {@code id} (first answer wins, order kept). vllm-router
 * proxies to the first registered worker only, so models served by other workers were invisible. The client's
 * headers go along (a vLLM with {@code --api-key} requires them).
 */
public final class ModelCatalog {
    private static final System.Logger LOG = System.getLogger(ModelCatalog.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final UpstreamClient client;
    private final HeaderRules headerRules;
    private final Duration timeout;

    public ModelCatalog(UpstreamClient client, HeaderRules headerRules, Duration timeout) {
        this.client = client;
        this.headerRules = headerRules;
        this.timeout = timeout;
    }

    /**
     * @return the {@code {"object":"list","data":[...]}} body
     * @throws RouterException 503 when no worker is available or none answered
     */
    public byte[] models(WorkerSnapshot snapshot, Headers clientHeaders, RequestId requestId) {
        Set<String> bases = new LinkedHashSet<>();
        for (Worker w : snapshot.available()) {
            bases.add(w.baseUrl());
        }
        if (bases.isEmpty()) {
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No available workers");
        }
        List<JsonNode> answers = new ArrayList<>();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<JsonNode>> futures = new ArrayList<>();
            for (String base : bases) {
                futures.add(executor.submit(() -> fetch(base, clientHeaders, requestId)));
            }
            for (Future<JsonNode> f : futures) {
                try {
                    JsonNode node = f.get();
                    if (node != null) {
                        answers.add(node);
                    }
                } catch (ExecutionException e) {
                    LOG.log(Level.DEBUG, "models: {0}", e.getCause().toString());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "Interrupted");
                }
            }
        }
        if (answers.isEmpty()) {
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No worker answered /v1/models");
        }
        Map<String, JsonNode> cards = new LinkedHashMap<>();
        for (JsonNode answer : answers) {
            for (JsonNode card : answer.path("data")) {
                String id = card.path("id").asText(null);
                if (id != null) {
                    cards.putIfAbsent(id, card);
                }
            }
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        cards.values().forEach(data::add);
        try {
            return JSON.writeValueAsBytes(out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode fetch(String base, Headers clientHeaders, RequestId requestId) throws IOException {
        try (UpstreamResponse up = client.send(base, "GET", base, "/v1/models",
                h -> headerRules.toWorker(clientHeaders, requestId, -1, h), null, timeout)) {
            if (up.status() / 100 != 2) {
                LOG.log(Level.DEBUG, "models: {0} answered {1}", base, up.status());
                return null;
            }
            return JSON.readTree(up.body().readAllBytes());
        } catch (UpstreamException e) {
            LOG.log(Level.DEBUG, "models: {0}", e.getMessage());
            return null;
        }
    }
}
