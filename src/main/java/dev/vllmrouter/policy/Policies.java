package dev.vllmrouter.policy;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

import dev.vllmrouter.common.RandomSource;

/**
 * The one table from vllm-router policy names to implementations. An unknown name fails at start; there is no
 * silent fallback (vllm-router falls back to round_robin).
 */
public final class Policies {
    private static final Map<String, Function<RandomSource, Policy>> TABLE = new TreeMap<>(Map.of(
            "round_robin", random -> new RoundRobinPolicy(),
            "random", RandomPolicy::new));

    private Policies() {
    }

    /**
     * @throws IllegalArgumentException for a name that is not in the table
     */
    public static Policy create(String name, RandomSource random) {
        Function<RandomSource, Policy> factory = TABLE.get(name);
        if (factory == null) {
            throw new IllegalArgumentException("policy: '" + name + "' (expected one of " + TABLE.keySet() + ")");
        }
        return factory.apply(random);
    }
}
