package dev.vllmrouter.policy;

import java.util.List;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code random}: a uniformly random available worker serving the model, among those the request has not tried yet.
 * <p>Invariant: every untried candidate has the same probability. Stateless apart from the injected
 * {@link RandomSource}; thread-safe.
 */
public final class RandomPolicy implements Policy {
    private final RandomSource random;

    public RandomPolicy(RandomSource random) {
        this.random = random;
    }

    @Override
    public String name() {
        return "random";
    }

    @Override
    public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
        Candidates candidates = new Candidates(snapshot);
        return (key, attempt) -> {
            Worker w = pickUntried(candidates.forModel(key.model()), attempt, random);
            return w == null ? null : new Decision(w, "random");
        };
    }

    /** A uniformly random worker of {@code workers} not tried by {@code attempt}, or {@code null}. */
    static Worker pickUntried(List<Worker> workers, Attempt attempt, RandomSource random) {
        int n = workers.size();
        if (n == 0) {
            return null;
        }
        if (attempt.tried().isEmpty()) {
            return workers.get(random.nextInt(n));
        }
        int untried = 0;
        for (Worker w : workers) {
            if (!attempt.wasTried(w)) {
                untried++;
            }
        }
        if (untried == 0) {
            return null;
        }
        int k = random.nextInt(untried);
        for (Worker w : workers) {
            if (!attempt.wasTried(w) && k-- == 0) {
                return w;
            }
        }
        throw new IllegalStateException("unreachable");
    }
}
