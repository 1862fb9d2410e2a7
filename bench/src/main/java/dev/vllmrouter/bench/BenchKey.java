package dev.vllmrouter.bench;

import dev.vllmrouter.policy.PromptIds;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.sim.PrefixCacheModel;

/**
 * A {@link RoutingKey} with its parts given up front (no request body to parse): what a chat request of the
 * benchmarks' workloads looks like to a policy. No headers, no model.
 *
 * @param bodySessionKey  the body's session key ({@code session:<id>}), or {@code null}
 * @param conversationKey the rendered leading messages (system + first user message), or {@code null}
 * @param promptText      the rendered conversation
 */
public record BenchKey(String bodySessionKey, String conversationKey, String promptText) implements RoutingKey {
    static final String ROUTE = "/v1/chat/completions";

    @Override
    public String route() {
        return ROUTE;
    }

    @Override
    public String model() {
        return null;
    }

    @Override
    public String header(String lowerCaseName) {
        return null;
    }

    /** The simulator's token ids of the prompt (what its prefix cache and KV events use); computed per call. */
    @Override
    public PromptIds promptIds() {
        return new PromptIds(PrefixCacheModel.tokenIds(promptText), null);
    }
}
