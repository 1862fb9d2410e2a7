package dev.vllmrouter.server;

import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;

import dev.vllmrouter.auth.Authenticator;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * Probes for orchestrators: {@code /liveness} (the process answers), {@code /readiness} (vllm-router's JSON with
 * worker counts; 503 without a usable worker) and {@code /health} (200 when at least one worker is usable —
 * vllm-router answers 503 as soon as any single worker is unhealthy, which takes a whole healthy fleet out of a load
 * balancer for one bad pod). Once the router drains (SIGTERM), {@code /readiness} and {@code /health} answer 503.
 */
final class ProbeService implements HttpService {
    private final RouterContext ctx;
    private final Endpoint endpoint;

    ProbeService(RouterContext ctx) {
        this.ctx = ctx;
        this.endpoint = new Endpoint(ctx, Authenticator.Access.PUBLIC, false);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/liveness", (req, res) -> endpoint.run("/liveness", req, res,
                (r, sink, id) -> Endpoint.text(sink, res, 200, "OK")));
        rules.get("/health", (req, res) -> endpoint.run("/health", req, res, (r, sink, id) -> {
            if (ctx.drain().draining()) {
                Endpoint.text(sink, res, 503, "Shutting down");
                return;
            }
            if (ctx.pd() != null) {
                int p = ctx.registry().snapshot(Role.PREFILL).available().size();
                int d = ctx.registry().snapshot(Role.DECODE).available().size();
                Endpoint.text(sink, res, p > 0 && d > 0 ? 200 : 503, (p > 0 && d > 0 ? "OK: " : "Waiting for workers: ")
                        + p + " prefill, " + d + " decode usable");
                return;
            }
            WorkerSnapshot s = ctx.registry().snapshot();
            int usable = s.available().size();
            if (usable > 0) {
                Endpoint.text(sink, res, 200, "OK: " + usable + " of " + s.workers().size() + " workers usable");
            } else {
                Endpoint.text(sink, res, 503, "No usable workers (" + s.workers().size() + " registered)");
            }
        }));
        rules.get("/readiness", (req, res) -> endpoint.run("/readiness", req, res, (r, sink, id) -> {
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
