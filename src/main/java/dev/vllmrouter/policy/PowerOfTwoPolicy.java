package dev.vllmrouter.policy;

import java.util.List;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code power_of_two}: two distinct untried candidates drawn uniformly at random; the one with the lower
 * {@link Worker#load()} wins (ties go to the first draw, as in vllm-router). The load is this router's in-flight count
 * (every request, from dispatch to the end of its answer) plus what the worker itself reports queued or running for
 * others ({@code vllm:num_requests_running + waiting}, scraped in the background) — vllm-router's version reads a
 * {@code /get_load} endpoint vLLM does not have, so against stock vLLM it is random.
 * <p>Invariant: never returns the more loaded of its two draws; with one candidate, returns it. Stateless apart from
 * the injected {@link RandomSource}; thread-safe; O(1) per pick.
 */
public final class PowerOfTwoPolicy implements Policy {
    private final RandomSource random;

    public PowerOfTwoPolicy(RandomSource random) {
        this.random = random;
    }

    @Override
    public String name() {
        return "power_of_two";
    }

    @Override
    public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
        Candidates candidates = new Candidates(snapshot);
        return (key, attempt) -> pick(candidates.forModel(key.model()), attempt);
    }

    private Decision pick(List<Worker> workers, Attempt attempt) {
        int n = workers.size();
        if (attempt.tried().isEmpty()) {
            if (n == 0) {
                return null;
            }
            if (n == 1) {
                return new Decision(workers.get(0), "only_worker");
            }
            int i = random.nextInt(n);
            int j = random.nextInt(n - 1);
            if (j >= i) {
                j++; // distinct second draw
            }
            return better(workers.get(i), workers.get(j));
        }
        Worker first = RandomPolicy.pickUntried(workers, attempt, random);
        if (first == null) {
            return null;
        }
        Worker second = RandomPolicy.pickUntried(workers, attempt.next(first), random);
        return second == null ? new Decision(first, "only_worker") : better(first, second);
    }

    private static Decision better(Worker a, Worker b) {
        return b.load() < a.load() ? new Decision(b, "lower_load") : new Decision(a, "lower_load");
    }
}
