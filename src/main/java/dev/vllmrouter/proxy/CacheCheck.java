package dev.vllmrouter.proxy;

/**
 * The closed loop of exact prefix-cache routing: hears, for each answered request whose decision predicted the
 * worker's cached prompt tokens, what the worker reported ({@code usage.prompt_tokens_details.cached_tokens}).
 */
@FunctionalInterface
public interface CacheCheck {
    /**
     * @param worker    the worker id that answered
     * @param predicted the cached tokens the decision predicted
     * @param reported  the answer's {@code cached_tokens}; {@link UsageTap#NO_DETAILS} when the usage had no
     *                  {@code prompt_tokens_details} (vLLM leaves them out for 0, and when they are not enabled)
     */
    void observed(String worker, int predicted, int reported);
}
