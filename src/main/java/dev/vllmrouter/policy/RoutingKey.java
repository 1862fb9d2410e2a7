package dev.vllmrouter.policy;

/**
 * The parts of a request a policy may use. Everything beyond {@link #route()} and {@link #model()} is computed on
 * first use and remembered, so a policy that does not need the body (round_robin, random, power_of_two) never pays
 * for parsing it.
 */
public interface RoutingKey {
    /** The request path (e.g. {@code /v1/chat/completions}). */
    String route();

    /** The requested model, or {@code null}. */
    String model();

    /** The value of request header {@code lowerCaseName}, or {@code null}. */
    String header(String lowerCaseName);

    /**
     * The explicit session key from the body, as vllm-router reads it: {@code session_params.session_id}
     * ({@code session:<v>}), {@code user} ({@code user:<v>}), {@code session_id} ({@code session:<v>}),
     * {@code user_id} ({@code user:<v>}); {@code null} when none.
     */
    String bodySessionKey();

    /**
     * What identifies a conversation without an explicit key: for chat, its leading messages up to and including the
     * first user message (the same on every turn); for other requests, the prompt; {@code null} when the body has
     * neither.
     */
    String conversationKey();

    /**
     * The text whose prefix a worker's KV cache holds: the whole conversation rendered in order (role and content of
     * every message) for chat, the prompt for completions; empty when the body has none.
     */
    String promptText();

    /**
     * The prompt's token ids as the worker will compute them, when the router can compute them (a tokenizer for the
     * model from {@code --tokenizer-path}, a chat or completions request without images); else {@code null}. Computed
     * on first use and remembered.
     */
    default PromptIds promptIds() {
        return null;
    }

    /** A key with only a route and a model (tests, requests without a body). */
    static RoutingKey of(String route, String model) {
        return new Fixed(route, model, "", null);
    }

    /** A key made of given values, no headers and no session (tests, benchmarks, requests without a body). */
    record Fixed(String route, String model, String promptText, PromptIds promptIds) implements RoutingKey {
        @Override
        public String header(String lowerCaseName) {
            return null;
        }

        @Override
        public String bodySessionKey() {
            return null;
        }

        @Override
        public String conversationKey() {
            return null;
        }
    }
}
