package dev.vllmrouter.bench;

import java.util.List;
import java.util.SplittableRandom;

import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

/** Builds the worker registries of the benchmarks: {@code n} plain workers {@code http://w<i>:8000}, no DP. */
final class Fleet {
    private Fleet() {
    }

    static String url(int i) {
        return "http://w" + i + ":8000";
    }

    static WorkerRegistry of(int n) {
        WorkerRegistry registry = new WorkerRegistry(1);
        for (int i = 0; i < n; i++) {
            registry.add(WorkerUrl.parse(url(i)));
        }
        return registry;
    }

    /**
     * Gives every worker a fixed reported queue of 0..{@code max} requests ({@link Worker#observeQueue}), so that
     * load-aware policies compare real, unequal numbers instead of all zeros.
     */
    static void setStaticLoads(List<Worker> workers, int max, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        for (Worker w : workers) {
            w.observeQueue(random.nextInt(max + 1));
        }
    }
}
