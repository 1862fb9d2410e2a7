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
}
