package dev.vllmrouter.policy;

/**
 * A request's prompt as the worker's engine will see it: its token ids (the chat template applied, as vLLM does), its
 * {@code cache_salt}, which keeps salted prefixes apart in vLLM's prefix cache, and the LoRA adapter it runs with,
 * whose name the engine mixes into every block's hash.
 *
 * @param tokens    the prompt token ids (not copied: never modify)
 * @param cacheSalt the request's {@code cache_salt}, or {@code null}
 * @param lora      the LoRA adapter's name (the request's model, when a worker lists it as an adapter), or
 *                  {@code null} for a base model
 */
public record PromptIds(int[] tokens, String cacheSalt, String lora) {
    /** A base model's prompt. */
    public PromptIds(int[] tokens, String cacheSalt) {
        this(tokens, cacheSalt, null);
    }
}
