package dev.vllmrouter.bench;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Picker;
import dev.vllmrouter.policy.Policies;
import dev.vllmrouter.policy.Policy;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * The warm structure a pick benchmark measures: a fleet of {@code workers} workers with fixed reported loads 0–3, the
 * policy's picker for it (with production's thread-local randomness), and a power-of-two number of chat keys. Each
 * key carries a session ({@code session:<i>}, what the hashing policies use) and a rendered chat prompt of
 * {@code promptSize} chars (a shared ~1 KiB system prompt, then that conversation's own turns; what cache_aware
 * uses). Every key is picked once before measuring, so cache_aware's prefix tree holds every conversation and a
 * measured pick finds its match (and re-inserts the text, as a real pick does).
 */
final class PickFixture {
    static final int SYSTEM_CHARS = 1024;
    static final int MESSAGE_CHARS = 400;
    /** Total prompt chars across the keys: the key count shrinks as prompts grow (bounded memory). */
    static final int TOTAL_CHARS = 8 << 20;

    final Picker picker;
    final BenchKey[] keys;
    final int mask;

    PickFixture(String policyName, int workers, int promptSize) {
        WorkerRegistry registry = Fleet.of(workers);
        Fleet.setStaticLoads(registry.snapshot().workers(), 3, 7);
        Policy policy = Policies.create(PolicyConfig.defaults(policyName), RandomSource.threadLocal());
        picker = policy.newPicker(registry.snapshot(), null);
        int count = Math.max(64, Integer.highestOneBit(Math.max(1, TOTAL_CHARS / promptSize)));
        count = Math.min(count, 4096);
        keys = new BenchKey[count];
        ChatText text = new ChatText(42, SYSTEM_CHARS, MESSAGE_CHARS, MESSAGE_CHARS);
        boolean needsPrompt = policyName.equals("cache_aware");
        for (int i = 0; i < count; i++) {
            String prompt = needsPrompt ? text.promptOfSize(i, promptSize) : "";
            keys[i] = new BenchKey("session:" + Integer.toHexString(i * 0x9E3779B1), text.conversationKey(i), prompt);
        }
        mask = count - 1;
        for (BenchKey k : keys) {
            picker.pick(k, Attempt.first());
        }
    }
}
