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
 * @param version   increases with every change
 * @param workers   every registered worker, in registration order
 * @param available the workers requests may go to (healthy ones), in registration order
 * @param models    served model ids per worker id; a worker absent from the map has unknown models
 */
public record WorkerSnapshot(long version, List<Worker> workers, List<Worker> available,
                             Map<String, Set<String>> models) {
    public static final WorkerSnapshot EMPTY = new WorkerSnapshot(0, List.of(), List.of(), Map.of());

    public WorkerSnapshot {
        workers = List.copyOf(workers);
        available = List.copyOf(available);
        models = Map.copyOf(models);
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
        if (model == null || model.isEmpty() || models.isEmpty()) {
            return true;
        }
        for (Worker w : workers) {
            Set<String> served = models.get(w.id());
            if (served == null || served.contains(model)) {
                return true;
            }
        }
        return false;
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
