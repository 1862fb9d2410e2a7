package dev.vllmrouter.policy;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.config.PolicyConfig;

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

    /** Whether {@code name} uses the workers' load (so their queues are worth scraping). */
    public static boolean isLoadAware(String name) {
        return name.equals("power_of_two") || name.equals("cache_aware");
    }
}
