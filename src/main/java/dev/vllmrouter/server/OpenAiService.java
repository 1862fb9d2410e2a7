package dev.vllmrouter.server;

import java.util.List;
import java.util.Locale;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import dev.vllmrouter.admission.AdmissionGate;
import dev.vllmrouter.auth.Authenticator;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.RequestFacts;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.proxy.ProxyRequest;
import dev.vllmrouter.proxy.RequestId;

/**
 * The OpenAI-compatible front: the JSON generation routes (body validated as one JSON object, then forwarded byte for
 * byte), {@code GET /v1/models} (union over the fleet), the stateful Responses look-ups (asked of every worker), and
 * the transparent proxy for every other path and method, whose body (multipart audio included) is forwarded
 * unchanged. Register last: its fallback matches everything.
 */
final class OpenAiService implements HttpService {
    /** POST routes whose body must be a JSON object (vLLM's own routes; reference §3.1). */
    static final List<String> JSON_ROUTES = List.of(
            "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/rerank", "/rerank",
            "/v2/rerank", "/generate", "/inference/v1/generate", "/tokenize", "/detokenize", "/v1/score", "/score",
            "/pooling", "/classify");
    /** Routes that run both stages under prefill/decode disaggregation; the others go to any one worker. */
    static final java.util.Set<String> PD_ROUTES = java.util.Set.of(
            "/v1/chat/completions", "/v1/completions", "/v1/responses", "/generate", "/inference/v1/generate");
    /** Fallback paths known to vLLM, labelled by path in metrics; any other path is labelled {@code other}. */
    private static final List<String> KNOWN_FALLBACK_ROUTES = List.of(
            "/v1/audio/transcriptions", "/v1/audio/translations", "/version", "/ping", "/load", "/metrics",
            "/reset_prefix_cache", "/v1/load_lora_adapter", "/v1/unload_lora_adapter", "/health_generate");
    private final RouterContext ctx;
    private final Endpoint endpoint;
    private final Endpoint workerAdmin;
    private final Endpoint publicFallback;

    OpenAiService(RouterContext ctx) {
        this.ctx = ctx;
        this.endpoint = new Endpoint(ctx, Authenticator.Access.CLIENT, true);
        this.workerAdmin = new Endpoint(ctx, Authenticator.Access.ADMIN, true);
        this.publicFallback = new Endpoint(ctx, Authenticator.Access.PUBLIC, true);
    }

    @Override
    public void routing(HttpRules rules) {
        for (String route : JSON_ROUTES) {
            rules.post(route, (req, res) -> endpoint.run(route, req, res, (r, sink, id) -> json(route, r, sink, id)));
        }
        // admitted like generation: each call asks every server
        ProbeService.getOrHead(rules, "/v1/models", (req, res) -> endpoint.run("/v1/models", req, res,
                (r, sink, id) -> admitted(sink, () -> {
                    byte[] body = ctx.models().models(ctx.registry().snapshot(), r.headers(), id);
                    sink.status(200);
                    res.headers().contentType(MediaTypes.APPLICATION_JSON);
                    sink.send(body);
                })));
        rules.get("/v1/responses/{id}", (req, res) -> endpoint.run("/v1/responses/{id}", req, res,
                (r, sink, id) -> admitted(sink, () -> ctx.fleet().firstSuccess(
                        proxyRequest("/v1/responses/{id}", r, null, RequestFacts.NONE, id), sink))));
        rules.post("/v1/responses/{id}/cancel", (req, res) -> endpoint.run("/v1/responses/{id}/cancel", req, res,
                (r, sink, id) -> {
                    byte[] body = endpoint.readBody(r, sink);
                    admitted(sink, () -> ctx.fleet().firstSuccess(proxyRequest("/v1/responses/{id}/cancel", r,
                            body, RequestFacts.NONE, id), sink));
                }));
        RouterRoutes.methodNotAllowed(rules, publicFallback);
        rules.any((req, res) -> {
            String path = req.path().rawPath();
            String route = KNOWN_FALLBACK_ROUTES.contains(path) ? path : "other";
            // decoded: the worker (uvicorn) decodes the path before routing, so /reset%5Fprefix%5Fcache is the same
            String decoded = req.path().path();
            Endpoint e = switch (WorkerRoutes.access(decoded)) {
                case PUBLIC -> publicFallback;
                case CLIENT -> endpoint;
                case ADMIN -> workerAdmin;
            };
            if (e == publicFallback) {
                // a probe: it needs no key, so it reads no body (Endpoint closes the connection instead), and it is
                // not admitted, so that a probe answers while the router is at its limit
                e.run(route, req, res, (r, sink, id) ->
                        ctx.forwarder().forward(proxyRequest(route, r, null, RequestFacts.NONE, id), sink));
                return;
            }
            e.run(route, req, res, (r, sink, id) -> {
                byte[] body = endpoint.readBody(r, sink);
                admitted(sink, () -> ctx.forwarder().forward(proxyRequest(route, r, body, RequestFacts.NONE, id),
                        sink));
            });
        });
    }

    private void json(String route, ServerRequest req, HelidonSink sink, RequestId requestId) {
        byte[] body = endpoint.readBody(req, sink);
        boolean relabel = true;
        if (req.headers().contains(HeaderNames.CONTENT_TYPE)) {
            String type = req.headers().get(HeaderNames.CONTENT_TYPE).get().toLowerCase(Locale.ROOT);
            // curl -d labels a JSON body as a form; once it parses as JSON it is sent on as what it is
            relabel = type.startsWith("application/x-www-form-urlencoded");
            if (!relabel && !type.startsWith("application/json") && !type.contains("+json")) {
                throw new RouterException(ErrorKind.UNSUPPORTED_MEDIA_TYPE,
                        "Unsupported Content-Type '" + type + "': expected application/json");
            }
        }
        RequestFacts facts = RequestFacts.parse(body == null ? new byte[0] : body);
        ProxyRequest proxied = proxyRequest(route, req, body, facts, requestId, relabel);
        sink.model(facts.model());
        boolean pd = ctx.pd() != null && PD_ROUTES.contains(route);
        sink.pd(pd);
        admitted(sink, () -> {
            if (pd) {
                ctx.pd().forward(proxied, sink);
            } else {
                ctx.forwarder().forward(proxied, sink);
            }
        });
    }

    /**
     * Runs {@code call} holding an admission slot until its answer is over. Admission comes after the body is read
     * and checked: a bad request is refused without waiting, a slow upload holds no slot, and a waiting request's
     * connection carries nothing more, so a client that leaves is noticed.
     */
    private void admitted(HelidonSink sink, Runnable call) {
        AdmissionGate.Permit permit = endpoint.admit(sink);
        if (permit == null) {
            return;
        }
        try (permit) {
            call.run();
        }
    }

    private ProxyRequest proxyRequest(String route, ServerRequest req, byte[] body, RequestFacts facts,
                                      RequestId requestId) {
        return proxyRequest(route, req, body, facts, requestId, false);
    }

    /**
     * The request as it goes to a worker: its path normalised as Helidon normalised it for routing
     * ({@link RequestTarget}), and path and query with the bytes over 0x7F they came with.
     */
    private ProxyRequest proxyRequest(String route, ServerRequest req, byte[] body, RequestFacts facts,
                                      RequestId requestId, boolean relabel) {
        String raw = req.path().rawPath();
        String path = RequestTarget.normalise(raw);
        String query = req.query().rawValue();
        String original = ctx.connections().originalTarget();
        if (original != null) {
            // Helidon saw those bytes percent-encoded; the worker gets them as they came
            int hash = original.indexOf('#');
            String target = hash < 0 ? original : original.substring(0, hash);
            int q = target.indexOf('?');
            if (path.equals(raw) && target.startsWith("/")) {
                path = q < 0 ? target : target.substring(0, q);
            }
            if (q >= 0) {
                query = target.substring(q + 1);
            }
        }
        return new ProxyRequest(req.prologue().method(), path, query, req.headers(), body, facts, requestId, route,
                relabel);
    }

}
