package dev.vllmrouter.policy;

import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * A load-balancing policy, control-plane side: given a new snapshot of the workers it builds the {@link Picker} the
 * request path uses until the next snapshot. Derived structures (rings, trees, lists) are built here, once per
 * snapshot version; state that must survive snapshots (a round-robin counter) is handed over from {@code previous}.
 */
public interface Policy {
    /** The vllm-router name of the policy ({@code round_robin}, ...). */
    String name();

    /**
     * @param snapshot the workers to pick from
     * @param previous the picker built for the previous snapshot, or {@code null} for the first
     */
    Picker newPicker(WorkerSnapshot snapshot, Picker previous);
}
