package dev.vllmrouter.policy;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * The available workers per requested model for one snapshot, computed once per model and remembered for the life of
 * the snapshot (so a request never filters the worker list itself). Thread-safe.
 */
public final class Candidates {
    private final WorkerSnapshot snapshot;
    private final ConcurrentHashMap<String, List<Worker>> byModel = new ConcurrentHashMap<>();

    public Candidates(WorkerSnapshot snapshot) {
        this.snapshot = snapshot;
    }

    public WorkerSnapshot snapshot() {
        return snapshot;
    }

    /** The available workers that serve {@code model} (all available ones for {@code null}). */
    public List<Worker> forModel(String model) {
        if (model == null || model.isEmpty()) {
            return snapshot.available();
        }
        return byModel.computeIfAbsent(model, snapshot::available);
    }

    /** A key for per-model state: the model, or {@code ""} for requests without one. */
    public static String modelKey(String model) {
        return model == null ? "" : model;
    }
}
