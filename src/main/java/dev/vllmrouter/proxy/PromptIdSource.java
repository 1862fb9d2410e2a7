package dev.vllmrouter.proxy;

import dev.vllmrouter.policy.PromptIds;

/**
 * Computes a request's prompt token ids for routing by the exact KV-event index (router-side tokenization), or answers
 * {@code null} when it cannot (no tokenizer for the model, a route without a prompt, images). Called at most once per
 * request, on the request's thread, only when the policy asks. Must not throw.
 */
@FunctionalInterface
public interface PromptIdSource {
    PromptIds of(ProxyRequest request);

    /**
     * A chat request whose ids {@link #of} computed was answered with {@code content}: it will come back as history
     * in the conversation's next request, so its ids may be computed now, off that request's path. Called on a
     * thread of its own after the answer reached the client. Must not throw.
     */
    default void answered(ProxyRequest request, String content) {
    }

    /** Whether {@link #answered} would use the answer of {@code request} (else its text is not collected). */
    default boolean wantsAnswer(ProxyRequest request) {
        return false;
    }
}
