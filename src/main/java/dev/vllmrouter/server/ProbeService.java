package dev.vllmrouter.server;

import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;

import dev.vllmrouter.auth.Authenticator;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * Probes for orchestrators:
 * <ul>
 *   <li>{@code /liveness}: 200 while the process serves.</li>
 *   <li>{@code /health}: 200 while the process serves, with the worker state in its text. vllm-router's manifests
 *       use it as the liveness probe, so it never fails because of workers (none registered yet, all unhealthy) or
 *       a drain: a router started by Kubernetes discovery before any vLLM pod is ready must not be restarted in a
 *       loop. (vllm-router answers 503 as soon as any single worker is unhealthy.)</li>
 *   <li>{@code /readiness}: vllm-router's JSON with worker counts; 503 without a usable worker (under PD: without a
 *       usable prefill and decode worker) and once the router drains (SIGTERM).</li>
 * </ul>
 */
final class ProbeService implements HttpService {
    private static final io.helidon.http.MethodPredicate GET_OR_HEAD = io.helidon.http.Method.predicate(
            io.helidon.http.Method.GET, io.helidon.http.Method.HEAD);

    /** A GET route that answers HEAD too (Helidon sends the head without the body), as axum's GET routes do. */
    static void getOrHead(HttpRules rules, String path, io.helidon.webserver.http.Handler handler) {
        rules.route(GET_OR_HEAD, io.helidon.http.PathMatchers.create(path), handler);
    }

    private final RouterContext ctx;
    private final Endpoint endpoint;

    ProbeService(RouterContext ctx) {
        this.ctx = ctx;
        this.endpoint = new Endpoint(ctx, Authenticator.Access.PUBLIC, false);
    }

    /** {@code /health}'s body: always 200, the worker state in words (readiness is {@code /readiness}). */
    private String healthText() {
        if (ctx.drain().draining()) {
            return "OK: shutting down (draining running requests; /readiness answers 503)";
        }
        if (ctx.pd() != null) {
            int p = ctx.registry().snapshot(Role.PREFILL).available().size();
            int d = ctx.registry().snapshot(Role.DECODE).available().size();
            return "OK: " + p + " prefill, " + d + " decode workers usable"
                    + (p > 0 && d > 0 ? "" : "; not ready (/readiness answers 503)");
        }
        WorkerSnapshot s = ctx.registry().snapshot();
        int usable = s.available().size();
        return "OK: " + usable + " of " + s.workers().size() + " workers usable"
                + (usable > 0 ? "" : "; not ready (/readiness answers 503)");
    }

    @Override
    public void routing(HttpRules rules) {
        getOrHead(rules, "/liveness", (req, res) -> endpoint.run("/liveness", req, res,
                (r, sink, id) -> Endpoint.text(sink, res, 200, "OK")));
        // a liveness probe in vllm-router's manifests: never fails because of workers or a drain, or Kubernetes
        // restarts a router that only waits for its first vLLM pod (or cuts its drain short)
        getOrHead(rules, "/health", (req, res) -> endpoint.run("/health", req, res,
                (r, sink, id) -> Endpoint.text(sink, res, 200, healthText())));
        getOrHead(rules, "/readiness", (req, res) -> endpoint.run("/readiness", req, res, (r, sink, id) -> {
            if (ctx.drain().draining()) {
                Endpoint.json(sink, res, 503, "{\"status\":\"not_ready\",\"reason\":\"shutting down\"}");
                return;
            }
            if (ctx.pd() != null) {
                WorkerSnapshot p = ctx.registry().snapshot(Role.PREFILL);
                WorkerSnapshot d = ctx.registry().snapshot(Role.DECODE);
                boolean ready = !p.available().isEmpty() && !d.available().isEmpty();
                Endpoint.json(sink, res, ready ? 200 : 503, "{\"status\":\"" + (ready ? "ready" : "not_ready")
                        + "\"," + (ready ? "" : "\"reason\":\"needs a healthy prefill and a healthy decode worker\",")
                        + "\"prefill\":{\"healthy\":" + p.available().size() + ",\"total\":" + p.workers().size()
                        + "},\"decode\":{\"healthy\":" + d.available().size() + ",\"total\":" + d.workers().size()
                        + "}}");
                return;
            }
            WorkerSnapshot s = ctx.registry().snapshot();
            int healthy = s.available().size();
            if (healthy > 0) {
                Endpoint.json(sink, res, 200, "{\"status\":\"ready\",\"healthy_workers\":" + healthy
                        + ",\"total_workers\":" + s.workers().size() + "}");
            } else {
                Endpoint.json(sink, res, 503, "{\"status\":\"not_ready\",\"reason\":\"no healthy workers available\""
                        + ",\"total_workers\":" + s.workers().size() + "}");
            }
        }));
    }
}
