package dev.vllmrouter.policy;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.Function;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.kvevents.SourceState;
import dev.vllmrouter.kvindex.KvIndex;

/**
 * The one table from vllm-router policy names to implementations. An unknown name fails at start; there is no
 * silent fallback (vllm-router falls back to round_robin).
 */
public final class Policies {
    private static final Map<String, BiFunction<PolicyConfig, RandomSource, Policy>> TABLE = new TreeMap<>(Map.of(
            "cache_aware", (config, random) -> new CacheAwarePolicy(config),
            "round_robin", (config, random) -> new RoundRobinPolicy(),
            "random", (config, random) -> new RandomPolicy(random),
            "power_of_two", (config, random) -> new PowerOfTwoPolicy(random),
            "consistent_hash", (config, random) -> new ConsistentHashPolicy(random),
            "rendezvous_hash", (config, random) -> new RendezvousHashPolicy(random)));

    private Policies() {
    }

    /**
     * @throws IllegalArgumentException for a name that is not in the table
     */
    public static Policy create(PolicyConfig config, RandomSource random) {
        BiFunction<PolicyConfig, RandomSource, Policy> factory = TABLE.get(config.name());
        if (factory == null) {
            throw new IllegalArgumentException("policy: '" + config.name() + "' (expected one of " + TABLE.keySet()
                    + ")");
        }
        return factory.apply(config, random);
    }

    /**
     * As {@link #create(PolicyConfig, RandomSource)}; with the KV-event index ({@code --kv-events-port}: {@code index}
     * not {@code null}) {@code cache_aware} routes by predicted time to first token ({@link KvAwarePolicy}) and falls
     * back to its tree where the index cannot be used.
     *
     * @param states each worker's index state (for {@code cache_aware} with an index)
     */
    public static Policy create(PolicyConfig config, RandomSource random, KvIndex index,
                                Function<String, SourceState> states) {
        Policy policy = create(config, random);
        if (index != null && policy instanceof CacheAwarePolicy tree) {
            return new KvAwarePolicy(tree, index, states);
        }
        return policy;
    }

    /** Whether {@code name} uses the workers' load (so their queues are worth scraping). */
    public static boolean isLoadAware(String name) {
        return name.equals("power_of_two") || name.equals("cache_aware");
    }
}
