package dev.vllmrouter.worker;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The LoRA adapters the workers serve, by name, with the base model each applies to: the cards of a worker's
 * {@code /v1/models} that carry a {@code parent} (vLLM lists each loaded adapter that way). A request for an adapter is
 * tokenized with its base model's tokenizer and its prompt's blocks are keyed under the adapter's name, as the engine
 * keys them (its KV events carry {@code lora_name}).
 * <p>Invariant: {@link #parentOf} answers from the union of the latest view of every server still known. Written by
 * the monitor (rebuilds serialised by one lock), read on the request path through one volatile map.
 */
public final class ModelAdapters {
    private final Map<String, Map<String, String>> byServer = new ConcurrentHashMap<>();
    private final ReentrantLock rebuild = new ReentrantLock();
    private volatile Map<String, String> all = Map.of();

    /** The adapters {@code server} lists now (adapter → base model), replacing what it listed before. */
    public void update(String server, Map<String, String> adapters) {
        Map<String, String> before = adapters.isEmpty() ? byServer.remove(server)
                : byServer.put(server, Map.copyOf(adapters));
        if (!adapters.equals(before == null ? Map.of() : before)) {
            rebuild();
        }
    }

    /** Forgets the servers that left the fleet. */
    public void retain(Set<String> servers) {
        if (byServer.keySet().retainAll(servers)) {
            rebuild();
        }
    }

    private void rebuild() {
        rebuild.lock();
        try {
            Map<String, String> union = new HashMap<>();
            byServer.values().forEach(union::putAll);
            all = Map.copyOf(union);
        } finally {
            rebuild.unlock();
        }
    }

    /** The base model of adapter {@code model}, or {@code null} when no worker lists it as an adapter. */
    public String parentOf(String model) {
        return model == null ? null : all.get(model);
    }
}
