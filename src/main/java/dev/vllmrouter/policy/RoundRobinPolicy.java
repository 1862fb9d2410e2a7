package dev.vllmrouter.policy;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code round_robin}: the n-th request for a model goes to that model's available worker {@code n mod size}; a
 * worker already tried by the request is skipped in favour of the next one in order.
 * <p>Invariant: over any {@code k * size} consecutive first attempts for one model on an unchanged snapshot, every
 * available worker serving it is chosen exactly {@code k} times. One counter per model (a shared counter would let
 * two interleaved models pin each other to fixed workers), carried from picker to picker so the rotation continues
 * across snapshot changes. Lock-free.
 */
public final class RoundRobinPolicy implements Policy {
    @Override
    public String name() {
        return "round_robin";
    }

    @Override
    public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
        ConcurrentHashMap<String, AtomicLong> counters = previous instanceof RoundRobinPicker p
                ? p.counters : new ConcurrentHashMap<>();
        return new RoundRobinPicker(new Candidates(snapshot), counters);
    }

    private record RoundRobinPicker(Candidates candidates, ConcurrentHashMap<String, AtomicLong> counters)
            implements Picker {
        @Override
        public Decision pick(RoutingKey key, Attempt attempt) {
            List<Worker> workers = candidates.forModel(key.model());
            int n = workers.size();
            if (n == 0) {
                return null;
            }
            AtomicLong counter = counters.computeIfAbsent(Candidates.modelKey(key.model()), m -> new AtomicLong());
            int start = (int) Math.floorMod(counter.getAndIncrement(), (long) n);
            for (int i = 0; i < n; i++) {
                Worker w = workers.get((start + i) % n);
                if (!attempt.wasTried(w)) {
                    return new Decision(w, "round_robin");
                }
            }
            return null;
        }
    }
}
