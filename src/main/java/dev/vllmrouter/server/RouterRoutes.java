package dev.vllmrouter.server;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.HttpRules;

import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.RouterException;

/**
 * The paths the router answers itself (its probes, its admin API and vllm-router's typed OpenAI routes), with the
 * methods each one takes. Any other method on one of these paths gets 405 with {@code Allow}, as vllm-router's
 * router does, instead of going to a worker through the transparent proxy; paths not listed here (vLLM's other
 * routes, {@code /tokenize}, ...) take any method through the proxy, as in vllm-router. A path that answers
 * {@code GET} answers {@code HEAD} too (the same head, no body), as axum's GET routes do.
 */
final class RouterRoutes {
    private static final List<Method> GET = List.of(Method.GET, Method.HEAD);
    private static final List<Method> POST = List.of(Method.POST);

    /** Path pattern (Helidon's syntax) → the methods it takes, in registration order. */
    static final Map<String, List<Method>> METHODS = table();

    private RouterRoutes() {
    }

    private static Map<String, List<Method>> table() {
        Map<String, List<Method>> m = new LinkedHashMap<>();
        for (String probe : List.of("/liveness", "/readiness", "/health")) {
            m.put(probe, GET);
        }
        m.put("/add_worker", POST);
        m.put("/remove_worker", POST);
        m.put("/flush_cache", POST);
        m.put("/list_workers", GET);
        m.put("/get_loads", GET);
        m.put("/workers", List.of(Method.GET, Method.HEAD, Method.POST));
        m.put("/workers/*", List.of(Method.GET, Method.HEAD, Method.DELETE));
        m.put("/v1/models", GET);
        for (String typed : List.of("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses",
                "/v1/rerank", "/rerank", "/generate", "/inference/v1/generate", "/v1/responses/{id}/cancel")) {
            m.put(typed, POST);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Registers the 405 answers; call after the services that serve these paths and before any fallback. */
    static void methodNotAllowed(HttpRules rules, Endpoint endpoint) {
        METHODS.forEach((path, methods) -> {
            String allow = methods.stream().map(Method::text).collect(Collectors.joining(", "));
            rules.any(path, (req, res) -> endpoint.run(path, req, res, (r, sink, id) -> {
                res.header(HeaderNames.ALLOW, allow);
                throw new RouterException(ErrorKind.METHOD_NOT_ALLOWED, "Method " + r.prologue().method().text()
                        + " is not allowed on " + r.path().path() + " (allowed: " + allow + ")");
            }));
        });
    }
}
