package dev.vllmrouter.policy;

/**
 * A request's prompt as the worker's engine will see it: its token ids (the chat template applied, as vLLM does) and
 * its {@code cache_salt}, which keeps salted prefixes apart in vLLM's prefix cache.
 *
 * @param tokens    the prompt token ids (not copied: never modify)
 * @param cacheSalt the request's {@code cache_salt}, or {@code null}
 */
public record PromptIds(int[] tokens, String cacheSalt) {
}
