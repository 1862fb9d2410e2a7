package dev.vllmrouter.proxy;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;


import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.upstream.WireHeaders;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * Calls that concern the fleet rather than one chosen worker, each asked once per server (DP ranks share a server):
 * <ul>
 *   <li>{@link #firstSuccess}: vLLM keeps Responses-API state on the worker that created it, so a look-up is asked of
 *       each server in turn until one answers 2xx; otherwise the last answer is returned;</li>
 *   <li>{@link #resetPrefixCache}: vllm-router's {@code /flush_cache}, mapped to vLLM's {@code /reset_prefix_cache}
 *       and sent to every server concurrently.</li>
 * </ul>
 */
public final class FleetCalls {
    private final UpstreamClient client;
    private final HeaderRules headerRules;
    private final Supplier<WorkerSnapshot> snapshots;
    private final Duration timeout;

    public FleetCalls(UpstreamClient client, HeaderRules headerRules, Supplier<WorkerSnapshot> snapshots,
                      Duration timeout) {
        this.client = client;
        this.headerRules = headerRules;
        this.snapshots = snapshots;
        this.timeout = timeout;
    }

    /** Relays the first 2xx answer to {@code req} among the servers, else the last answer. */
    public void firstSuccess(ProxyRequest req, ClientSink sink) {
        List<String> bases = bases(snapshots.get());
        if (bases.isEmpty()) {
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No available workers");
        }
        String target = req.rawQuery().isEmpty() ? req.rawPath() : req.rawPath() + "?" + req.rawQuery();
        int lastStatus = 0;
        byte[] lastBody = null;
        WireHeaders lastHeaders = null;
        for (String base : bases) {
            try (UpstreamResponse up = client.send(base, req.method().text(), base, target,
                    h -> headerRules.toWorker(req.headers(), req.requestId(), -1, h), req.body(), timeout)) {
                byte[] body = up.body().readAllBytes();
                lastStatus = up.status();
                lastBody = body;
                lastHeaders = up.headers();
                if (lastStatus / 100 == 2) {
                    break;
                }
            } catch (IOException | RuntimeException e) {
                // try the next server
            }
        }
        if (lastBody == null) {
            throw RouterException.upstream(ErrorKind.BAD_GATEWAY, "No worker response", null);
        }
        sink.status(lastStatus);
        HeaderRules.toClient(lastHeaders, sink);
        sink.send(lastBody);
    }

    /**
     * POSTs {@code /reset_prefix_cache} to every server.
     *
     * @return the servers that failed (empty when all succeeded)
     */
    public List<String> resetPrefixCache() {
        List<String> bases = bases(snapshots.get());
        List<String> failed = new ArrayList<>();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Boolean>> results = new ArrayList<>();
            for (String base : bases) {
                results.add(executor.submit(() -> post(base, "/reset_prefix_cache")));
            }
            for (int i = 0; i < bases.size(); i++) {
                boolean ok;
                try {
                    ok = results.get(i).get();
                } catch (Exception e) {
                    ok = false;
                }
                if (!ok) {
                    failed.add(bases.get(i));
                }
            }
        }
        return failed;
    }

    private boolean post(String base, String path) {
        try (UpstreamResponse up = client.send(base, "POST", base, path,
                h -> { }, new byte[0], timeout)) {
            up.body().readAllBytes();
            return up.status() / 100 == 2;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static List<String> bases(WorkerSnapshot snapshot) {
        Set<String> bases = new LinkedHashSet<>();
        for (Worker w : snapshot.available()) {
            bases.add(w.baseUrl());
        }
        return List.copyOf(bases);
    }
}
