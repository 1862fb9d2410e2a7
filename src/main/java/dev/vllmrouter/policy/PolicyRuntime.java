package dev.vllmrouter.policy;

import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * Binds a {@link Policy} to the registry's snapshots: the request path calls {@link #pick}, which uses the picker of
 * the current snapshot, building it once when the snapshot changed (under a lock, re-checked, so concurrent requests
 * build it once). Snapshot and picker are published together in one volatile field, so a picker never sees a
 * snapshot it was not built for.
 */
public final class PolicyRuntime {
    private record Bound(WorkerSnapshot snapshot, Picker picker) {
    }

    private final Policy policy;
    private final Supplier<WorkerSnapshot> snapshots;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile Bound bound = new Bound(null, null);

    public PolicyRuntime(Policy policy, Supplier<WorkerSnapshot> snapshots) {
        this.policy = policy;
        this.snapshots = snapshots;
    }

    public Policy policy() {
        return policy;
    }

    /** Whether the fleet serves {@code model} or might (see {@link WorkerSnapshot#mayServe}). */
    public boolean mayServe(String model) {
        return snapshots.get().mayServe(model);
    }

    /**
     * Whether a usable worker for {@code model} is left that {@code attempt} has not tried and whose circuit lets
     * calls through (a scan of the fleet: for the retry decision, not for every request).
     */
    public boolean untriedLeft(String model, Attempt attempt) {
        WorkerSnapshot s = snapshots.get();
        for (Worker w : model == null || model.isEmpty() ? s.available() : s.available(model)) {
            if (!attempt.wasTried(w) && w.breaker().allowsTraffic()) {
                return true;
            }
        }
        return false;
    }

    public Decision pick(RoutingKey key, Attempt attempt) {
        WorkerSnapshot current = snapshots.get();
        Bound b = bound;
        if (b.snapshot != current) {
            b = rebind(current);
        }
        return b.picker.pick(key, attempt);
    }

    private Bound rebind(WorkerSnapshot current) {
        lock.lock();
        try {
            Bound b = bound;
            // a thread that read an older snapshot than the bound one just uses the newer picker
            if (b.snapshot == null || b.snapshot.version() < current.version()) {
                b = new Bound(current, policy.newPicker(current, b.picker));
                bound = b;
            }
            return b;
        } finally {
            lock.unlock();
        }
    }
}
