package dev.vllmrouter.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Picker;
import dev.vllmrouter.policy.Policies;
import dev.vllmrouter.policy.Policy;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * How many session keys a hashing policy moves when one worker leaves: {@code keys} session keys
 * ({@code session:<i>} in the body) are mapped on a fleet of {@code n} workers; then each worker in turn is removed
 * from the registry, the policy builds its next picker from the new snapshot (as the router does), the keys are
 * mapped again and the worker put back. Reported: the mean share of keys that changed worker (optimum: the departed
 * worker's share, ideally 1/n), the share that moved although their worker stayed ("needless", 0 for a correct
 * consistent hash), and the spread of keys over the full fleet (max/mean keys per worker).
 */
final class KeyMovement {
    record Row(String policy, int workers, double moved, double needless, double keysMaxOverMean) {
        double optimum() {
            return 1.0 / workers;
        }
    }

    private KeyMovement() {
    }

    static List<Row> measure(List<String> policies, int[] sizes, int keys, long seed) {
        BenchKey[] k = new BenchKey[keys];
        for (int i = 0; i < keys; i++) {
            k[i] = new BenchKey("session:" + i, null, "");
        }
        List<Row> rows = new ArrayList<>();
        for (String name : policies) {
            for (int n : sizes) {
                rows.add(measure(name, n, k, seed));
            }
        }
        return rows;
    }

    private static Row measure(String name, int n, BenchKey[] keys, long seed) {
        WorkerRegistry registry = Fleet.of(n);
        Policy policy = Policies.create(PolicyConfig.defaults(name), RandomSource.seeded(seed));
        Picker picker = policy.newPicker(registry.snapshot(), null);
        String[] before = map(picker, keys);
        Map<String, Integer> perWorker = new HashMap<>();
        for (String id : before) {
            perWorker.merge(id, 1, Integer::sum);
        }
        int max = perWorker.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        long moved = 0;
        long needless = 0;
        for (int leaving = 0; leaving < n; leaving++) {
            String gone = WorkerUrl.parse(Fleet.url(leaving)).id();
            registry.remove(gone);
            picker = policy.newPicker(registry.snapshot(), picker);
            String[] after = map(picker, keys);
            for (int i = 0; i < keys.length; i++) {
                if (!after[i].equals(before[i])) {
                    moved++;
                    if (!before[i].equals(gone)) {
                        needless++;
                    }
                }
            }
            registry.add(WorkerUrl.parse(Fleet.url(leaving)));
            picker = policy.newPicker(registry.snapshot(), picker);
        }
        double total = (double) keys.length * n;
        return new Row(name, n, moved / total, needless / total, max / ((double) keys.length / n));
    }

    private static String[] map(Picker picker, BenchKey[] keys) {
        String[] ids = new String[keys.length];
        for (int i = 0; i < keys.length; i++) {
            ids[i] = picker.pick(keys[i], Attempt.first()).worker().id();
        }
        return ids;
    }
}
