package dev.vllmrouter.worker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An immutable view of the registry at one version. The request path reads the current snapshot once per attempt;
 * policies rebuild their derived structures when {@link #version()} changes, never per request.
 * <p>Models: each worker's served models, as discovered from its {@code /v1/models}; a worker whose models are not
 * known (not asked yet, or not answering) may serve any model, so discovery trouble never blocks routing.
 *
 * <p>Fields: {@code version} increases with every change; {@code workers} is every registered worker, in
 * registration order; {@code available} the workers requests may go to (healthy ones), in registration order;
 * {@code models} the served model ids per worker id (a worker absent from the map has unknown models).
 */
public final class WorkerSnapshot {
    public static final WorkerSnapshot EMPTY = new WorkerSnapshot(0, List.of(), List.of(), Map.of());

    private final long version;
    private final List<Worker> workers;
    private final List<Worker> available;
    private final Map<String, Set<String>> models;
    /** Union of the known models; with {@link #someUnknown}, answers {@link #mayServe} in O(1). */
    private final Set<String> servedModels;
    private final boolean someUnknown;

    public WorkerSnapshot(long version, List<Worker> workers, List<Worker> available,
                          Map<String, Set<String>> models) {
        this.version = version;
        this.workers = List.copyOf(workers);
        this.available = List.copyOf(available);
        this.models = Map.copyOf(models);
        Set<String> served = new java.util.HashSet<>();
        boolean unknown = false;
        for (Worker w : this.workers) {
            Set<String> m = this.models.get(w.id());
            if (m == null) {
                unknown = true;
            } else {
                served.addAll(m);
            }
        }
        this.servedModels = Set.copyOf(served);
        this.someUnknown = unknown;
    }

    public long version() {
        return version;
    }

    public List<Worker> workers() {
        return workers;
    }

    public List<Worker> available() {
        return available;
    }

    public Map<String, Set<String>> models() {
        return models;
    }

    /** A snapshot without model knowledge (every worker may serve any model). */
    public WorkerSnapshot(long version, List<Worker> workers, List<Worker> available) {
        this(version, workers, available, Map.of());
    }

    /**
     * The available workers that serve {@code model} (or may: unknown models); all available ones when {@code model}
     * is {@code null} or empty (vLLM then uses its default model). Computed per call: callers cache it per snapshot.
     */
    public List<Worker> available(String model) {
        if (model == null || model.isEmpty() || models.isEmpty()) {
            return available;
        }
        List<Worker> out = new ArrayList<>(available.size());
        for (Worker w : available) {
            Set<String> served = models.get(w.id());
            if (served == null || served.contains(model)) {
                out.add(w);
            }
        }
        return out;
    }

    /** The registered workers (available or not) that serve {@code model} or may (unknown models). */
    public List<Worker> workers(String model) {
        if (model == null || model.isEmpty() || models.isEmpty()) {
            return workers;
        }
        List<Worker> out = new ArrayList<>(workers.size());
        for (Worker w : workers) {
            Set<String> served = models.get(w.id());
            if (served == null || served.contains(model)) {
                out.add(w);
            }
        }
        return out;
    }

    /**
     * Whether some registered worker serves {@code model} or might (unknown models). {@code false} means the model
     * certainly does not exist in this fleet: the router answers 404 as vLLM does.
     */
    public boolean mayServe(String model) {
        return model == null || model.isEmpty() || workers.isEmpty() || someUnknown || servedModels.contains(model);
    }

    /** The served models of worker {@code id}, or {@code null} when unknown. */
    public Set<String> modelsOf(String id) {
        return models.get(id);
    }

    /** Model id to the workers known to serve it (workers with unknown models are not listed). */
    public Map<String, List<Worker>> byModel() {
        Map<String, List<Worker>> out = new HashMap<>();
        for (Worker w : workers) {
            Set<String> served = models.get(w.id());
            if (served != null) {
                for (String m : served) {
                    out.computeIfAbsent(m, k -> new ArrayList<>()).add(w);
                }
            }
        }
        return out;
    }
}
