package dev.vllmrouter.config;

import java.time.Duration;

/**
 * The load-balancing settings (vllm-router's flags and CLI defaults).
 *
 * @param name                {@code --policy}: round_robin, random, power_of_two, consistent_hash, rendezvous_hash,
 *                            cache_aware (default)
 * @param cacheThreshold      {@code --cache-threshold} (0.3): a worker's matched share of the prompt must exceed this
 *                            for cache affinity
 * @param balanceAbsThreshold {@code --balance-abs-threshold} (64): the fleet counts as imbalanced when max − min load
 *                            exceeds this ...
 * @param balanceRelThreshold {@code --balance-rel-threshold} (1.5): ... and max load exceeds min × this
 * @param evictionInterval    {@code --eviction-interval} (120 s): how often cache_aware trims its trees (0 = never)
 * @param maxTreeSize         {@code --max-tree-size} (2^26): characters of prompt text remembered per worker
 */
public record PolicyConfig(String name, double cacheThreshold, int balanceAbsThreshold, double balanceRelThreshold,
                           Duration evictionInterval, long maxTreeSize) {

    public static PolicyConfig defaults(String name) {
        return new PolicyConfig(name, 0.3, 64, 1.5, Duration.ofSeconds(120), 67_108_864L);
    }
}
