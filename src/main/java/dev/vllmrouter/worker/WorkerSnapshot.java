package dev.vllmrouter.worker;

import java.util.List;

/**
 * An immutable view of the registry at one version. The request path reads the current snapshot once per attempt;
 * policies rebuild their derived structures when {@link #version()} changes, never per request.
 *
 * @param version   increases with every change
 * @param workers   every registered worker, in registration order
 * @param available the workers requests may go to (healthy ones), in registration order
 */
public record WorkerSnapshot(long version, List<Worker> workers, List<Worker> available) {
    public static final WorkerSnapshot EMPTY = new WorkerSnapshot(0, List.of(), List.of());

    public WorkerSnapshot {
        workers = List.copyOf(workers);
        available = List.copyOf(available);
    }
}
