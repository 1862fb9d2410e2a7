package dev.vllmrouter.policy;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code round_robin}: the n-th request goes to available worker {@code n mod size}; a worker already tried by the
 * request is skipped in favour of the next one in order.
 * <p>Invariant: over any {@code k * size} consecutive first attempts on an unchanged snapshot every available worker
 * is chosen exactly {@code k} times. The counter is one {@link AtomicLong} carried from picker to picker, so the
 * rotation continues across snapshot changes. Lock-free.
 */
public final class RoundRobinPolicy implements Policy {
    @Override
    public String name() {
        return "round_robin";
    }

    @Override
    public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
        AtomicLong counter = previous instanceof RoundRobinPicker p ? p.counter : new AtomicLong();
        return new RoundRobinPicker(snapshot.available(), counter);
    }

    private record RoundRobinPicker(List<Worker> workers, AtomicLong counter) implements Picker {
        @Override
        public Worker pick(RoutingKey key, Attempt attempt) {
            int n = workers.size();
            if (n == 0) {
                return null;
            }
            int start = (int) Math.floorMod(counter.getAndIncrement(), (long) n);
            for (int i = 0; i < n; i++) {
                Worker w = workers.get((start + i) % n);
                if (!attempt.wasTried(w)) {
                    return w;
                }
            }
            return null;
        }
    }
}
