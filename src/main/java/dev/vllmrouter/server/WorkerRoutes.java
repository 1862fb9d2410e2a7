package dev.vllmrouter.server;

import java.util.Set;

import dev.vllmrouter.auth.Authenticator;

/**
 * Which key a path the transparent proxy sends to a worker needs: the one list of vLLM's routes a client may use.
 * The rule is inverted on purpose: a client key reaches only the inference routes and the read-only routes vLLM
 * documents for clients; every other path on a worker — {@code /pause}, {@code /resume}, {@code /update_weights},
 * {@code /server_info}, {@code /reset_prefix_cache}, LoRA loading, {@code /sleep}, routes a newer vLLM adds, any
 * unknown path — needs the admin key when one is set, like the router's own admin API. Probes need no key.
 * Paths are compared decoded, as the worker (uvicorn) routes them: {@code /reset%5Fprefix%5Fcache} is
 * {@code /reset_prefix_cache}.
 */
final class WorkerRoutes {
    /** vLLM's routes for clients: inference (OpenAI, Anthropic, pooling, tokenizer) and read-only facts. */
    static final Set<String> CLIENT = Set.of(
            // inference
            "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/messages",
            "/v1/messages/count_tokens", "/v1/audio/transcriptions", "/v1/audio/translations", "/v1/rerank",
            "/rerank", "/v2/rerank", "/v1/score", "/score", "/pooling", "/classify", "/generate",
            "/inference/v1/generate", "/tokenize", "/detokenize",
            // read-only, for clients
            "/v1/models", "/version", "/load");
    /** Probes: never a key, like the router's own {@code /health}. */
    static final Set<String> PUBLIC = Set.of("/health", "/ping", "/health_generate");

    private WorkerRoutes() {
    }

    /** The key {@code decodedPath} needs on its way to a worker. */
    static Authenticator.Access access(String decodedPath) {
        if (PUBLIC.contains(decodedPath)) {
            return Authenticator.Access.PUBLIC;
        }
        return CLIENT.contains(decodedPath) ? Authenticator.Access.CLIENT : Authenticator.Access.ADMIN;
    }
}
