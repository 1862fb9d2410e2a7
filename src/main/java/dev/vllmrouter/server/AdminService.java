package dev.vllmrouter.server;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import dev.vllmrouter.auth.Authenticator;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.kvevents.KvEventSubscriber;
import dev.vllmrouter.kvevents.SourceStatus;
import dev.vllmrouter.openai.Json;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSpec;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * vllm-router's admin API (reference §3.2): {@code /add_worker}, {@code /remove_worker}, {@code /list_workers},
 * {@code /get_loads}, {@code /flush_cache} and the REST form {@code GET/POST /workers}, {@code GET/DELETE
 * /workers/{url}}. Adding waits for the worker's {@code /health} (as vllm-router does) so a worker enters rotation
 * only once it can serve.
 */
final class AdminService implements HttpService {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** vllm-router's (axum's) answer to {@code /add_worker} or {@code /remove_worker} without {@code ?url=}. */
    static final String MISSING_URL = "Failed to deserialize query string: missing field `url`";

    private final RouterContext ctx;
    private final Endpoint endpoint;

    AdminService(RouterContext ctx) {
        this.ctx = ctx;
        this.endpoint = new Endpoint(ctx, Authenticator.Access.ADMIN, false);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/add_worker", (req, res) -> endpoint.run("/add_worker", req, res, (r, sink, id) -> {
            AddResult result = ctx.pd() != null
                    ? new AddResult(false, "In prefill/decode mode use POST /workers with \"worker_type\": "
                            + "\"prefill\" or \"decode\"")
                    : r.query().first("url").isEmpty() ? new AddResult(false, MISSING_URL)
                    : add(r.query().first("url").get(), Role.REGULAR, -1, sink);
            Endpoint.text(sink, res, result.ok ? 200 : 400, result.message);
        }));
        rules.post("/remove_worker", (req, res) -> endpoint.run("/remove_worker", req, res, (r, sink, id) -> {
            String url = r.query().first("url").orElse(null);
            if (url == null) {
                Endpoint.text(sink, res, 400, MISSING_URL);
                return;
            }
            ctx.registry().remove(url);
            Endpoint.text(sink, res, 200, "Successfully removed worker: " + url);
        }));
        ProbeService.getOrHead(rules, "/list_workers", (req, res) -> endpoint.run("/list_workers", req, res, (r, sink, id) -> {
            StringBuilder sb = new StringBuilder("{\"urls\":[");
            List<Worker> workers = ctx.registry().snapshot().workers();
            for (int i = 0; i < workers.size(); i++) {
                sb.append(i == 0 ? "" : ",");
                Json.appendString(sb, workers.get(i).id());
            }
            Endpoint.json(sink, res, 200, sb.append("]}").toString());
        }));
        ProbeService.getOrHead(rules, "/get_loads", (req, res) -> endpoint.run("/get_loads", req, res, (r, sink, id) -> {
            Endpoint.json(sink, res, 200, ctx.pd() != null ? pdLoadsJson(ctx.registry().snapshot())
                    : loadsJson(ctx.registry().snapshot()));
        }));
        rules.post("/flush_cache", (req, res) -> endpoint.run("/flush_cache", req, res, (r, sink, id) -> {
            List<String> failed = ctx.fleet().resetPrefixCache();
            if (failed.isEmpty()) {
                Endpoint.text(sink, res, 200, "Cache flushed on all servers");
            } else {
                Endpoint.text(sink, res, 500, "Cache flush failed on one or more servers: " + failed);
            }
        }));
        ProbeService.getOrHead(rules, "/workers", (req, res) -> endpoint.run("/workers", req, res,
                (r, sink, id) -> Endpoint.json(sink, res, 200, workersJson(ctx.registry().snapshot(), ctx.kvEvents()))));
        rules.post("/workers", (req, res) -> endpoint.run("/workers", req, res, (r, sink, id) -> postWorker(r, res,
                sink)));
        ProbeService.getOrHead(rules, "/workers/*", (req, res) -> endpoint.run("/workers/{url}", req, res, (r, sink, id) -> {
            Worker w = ctx.registry().find(pathUrl(r));
            if (w == null) {
                notFound(sink, res, pathUrl(r));
                return;
            }
            Endpoint.json(sink, res, 200, "{\"url\":" + Json.quote(w.id()) + ",\"model_id\":\"unknown\""
                    + ",\"is_healthy\":true,\"load\":" + w.inFlight() + "}");
        }));
        rules.delete("/workers/*", (req, res) -> endpoint.run("/workers/{url}", req, res, (r, sink, id) -> {
            String url = pathUrl(r);
            if (ctx.registry().remove(url).isEmpty()) {
                notFound(sink, res, url);
                return;
            }
            Endpoint.json(sink, res, 200, "{\"success\":true,\"message\":"
                    + Json.quote("Worker " + url + " removed successfully") + "}");
        }));
    }

    /** vllm-router's regular {@code /get_loads}: each worker's in-flight requests as this router counts them. */
    static String loadsJson(WorkerSnapshot snapshot) {
        StringBuilder sb = new StringBuilder("{\"workers\":[");
        List<Worker> workers = snapshot.workers();
        for (int i = 0; i < workers.size(); i++) {
            sb.append(i == 0 ? "" : ",").append("{\"worker\":");
            Json.appendString(sb, workers.get(i).id());
            sb.append(",\"load\":").append(workers.get(i).inFlight()).append('}');
        }
        return sb.append("]}").toString();
    }

    /**
     * vllm-router's prefill/decode {@code /get_loads}: {@code {"loads":{"prefill_<url>":n,"decode_<url>":n},
     * "errors":[]}}. The counts are this router's own, so there are never errors to report.
     */
    static String pdLoadsJson(WorkerSnapshot snapshot) {
        StringBuilder sb = new StringBuilder("{\"loads\":{");
        boolean first = true;
        for (Role role : List.of(Role.PREFILL, Role.DECODE)) {
            for (Worker w : snapshot.workers()) {
                if (w.role() != role) {
                    continue;
                }
                sb.append(first ? "" : ",");
                first = false;
                Json.appendString(sb, role.label() + "_" + w.id());
                sb.append(':').append(w.inFlight());
            }
        }
        return sb.append("},\"errors\":[]}").toString();
    }

    private void postWorker(ServerRequest req, ServerResponse res, HelidonSink sink) {
        byte[] body = endpoint.readBody(req, sink);
        String url;
        JsonNode node;
        try {
            node = body == null ? null : JSON.readTree(body);
            url = node == null ? null : node.path("url").asText(null);
        } catch (IOException e) {
            node = null;
            url = null;
        }
        AddResult result;
        if (url == null) {
            result = new AddResult(false, "Invalid request: expected a JSON object with a \"url\" field");
        } else {
            String type = node.path("worker_type").asText(ctx.pd() != null ? "" : "regular");
            Role role = switch (type) {
                case "regular" -> ctx.pd() == null ? Role.REGULAR : null;
                case "prefill" -> ctx.pd() != null ? Role.PREFILL : null;
                case "decode" -> ctx.pd() != null ? Role.DECODE : null;
                default -> null;
            };
            result = role == null
                    ? new AddResult(false, "worker_type '" + type + "' does not fit this router (expected "
                            + (ctx.pd() != null ? "prefill or decode" : "regular") + ")")
                    : add(url, role, node.path("bootstrap_port").asInt(-1), sink);
        }
        if (result.ok) {
            Endpoint.json(sink, res, 200, "{\"success\":true,\"message\":" + Json.quote(result.message)
                    + ",\"worker\":null}");
        } else {
            Endpoint.json(sink, res, 400, "{\"error\":" + Json.quote(result.message)
                    + ",\"code\":\"ADD_WORKER_FAILED\"}");
        }
    }

    private record AddResult(boolean ok, String message) {
    }

    /** Adds a worker once its {@code /health} answers; the wait ends early when the client hangs up. */
    private AddResult add(String raw, Role role, int bootstrapPort, HelidonSink sink) {
        WorkerUrl url;
        try {
            url = WorkerUrl.parse(raw);
        } catch (IllegalArgumentException e) {
            return new AddResult(false, "Invalid worker URL " + e.getMessage());
        }
        if (ctx.registry().snapshot().workers().stream().anyMatch(w -> w.url().equals(url)
                || (!url.isDataParallel() && w.baseUrl().equals(url.base())))) {
            return new AddResult(false, "Worker already exists: " + url.id());
        }
        boolean healthy;
        Thread waiting = Thread.currentThread();
        java.util.concurrent.atomic.AtomicBoolean left = new java.util.concurrent.atomic.AtomicBoolean();
        // vllm-router waits up to --worker-startup-timeout-secs (600) whatever the client does: an abandoned
        // /add_worker would keep probing for ten minutes
        try (AutoCloseable watch = sink.onHangUp(() -> {
            left.set(true);
            waiting.interrupt();
        })) {
            healthy = ctx.workerWait().awaitHealthy(url.base());
        } catch (Exception e) {
            healthy = false;
        } finally {
            Thread.interrupted(); // a hang-up's interrupt must not reach the answer's write
        }
        if (left.get()) {
            return new AddResult(false, "The client left while worker " + url.id() + " was awaited; not added");
        }
        if (!healthy) {
            return new AddResult(false, "Worker " + url.id() + " did not become healthy within "
                    + ctx.config().workerStartupTimeout().toSeconds() + "s");
        }
        if (ctx.registry().add(new WorkerSpec(url, role, bootstrapPort, null), ctx.monitor().fetchModels(url.base()),
                "admin").isEmpty()) {
            return new AddResult(false, "Worker already exists: " + url.id());
        }
        return new AddResult(true, "Successfully added worker: " + url.id());
    }

    private static void notFound(HelidonSink sink, ServerResponse res, String url) {
        Endpoint.json(sink, res, 404, "{\"error\":" + Json.quote("Worker " + url + " not found")
                + ",\"code\":\"WORKER_NOT_FOUND\"}");
    }

    private static String pathUrl(ServerRequest req) {
        String raw = req.path().rawPath().substring("/workers/".length());
        return URLDecoder.decode(raw, StandardCharsets.UTF_8);
    }

    /** vllm-router's listing; with KV events on, each subscribed worker also says how far its index is trusted. */
    static String workersJson(WorkerSnapshot snapshot, KvEventSubscriber kvEvents) {
        StringBuilder sb = new StringBuilder("{\"workers\":[");
        List<Worker> workers = snapshot.workers();
        for (int i = 0; i < workers.size(); i++) {
            Worker w = workers.get(i);
            sb.append(i == 0 ? "" : ",").append("{\"url\":").append(Json.quote(w.id()))
                    .append(",\"model_id\":\"unknown\",\"worker_type\":\"").append(w.role().label())
                    .append("\",\"is_healthy\":")
                    .append(snapshot.available().contains(w))
                    .append(",\"load\":").append(w.inFlight())
                    .append(",\"connection_mode\":\"Http\",\"priority\":50,\"cost\":1.0");
            if (w.dpRank() >= 0) {
                sb.append(",\"dp_rank\":").append(w.dpRank());
            }
            if (w.bootstrapPort() > 0) {
                sb.append(",\"bootstrap_port\":").append(w.bootstrapPort());
            }
            SourceStatus kv = kvEvents == null ? null : kvEvents.status(w.id());
            if (kv != null) {
                sb.append(",\"kv_events\":{\"state\":\"").append(kv.state().label()).append("\",\"reason\":")
                        .append(Json.quote(kv.reason())).append(",\"endpoint\":").append(Json.quote(kv.endpoint()))
                        .append(",\"connected\":").append(kv.connected())
                        .append(",\"last_sequence\":").append(kv.lastSequence())
                        .append(",\"age_seconds\":").append(kv.ageSeconds() < 0 ? "null"
                                : String.format(java.util.Locale.ROOT, "%.3f", kv.ageSeconds()))
                        .append(",\"blocks\":").append(kv.blocks()).append('}');
            }
            sb.append('}');
        }
        return sb.append("],\"total\":").append(workers.size())
                .append(",\"stats\":{\"prefill_count\":").append(count(workers, Role.PREFILL))
                .append(",\"decode_count\":").append(count(workers, Role.DECODE))
                .append(",\"regular_count\":").append(count(workers, Role.REGULAR)).append("}}").toString();
    }

    private static long count(List<Worker> workers, Role role) {
        return workers.stream().filter(w -> w.role() == role).count();
    }
}
