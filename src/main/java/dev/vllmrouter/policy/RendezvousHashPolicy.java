package dev.vllmrouter.policy;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import dev.vllmrouter.common.Hashing;
import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code rendezvous_hash} (highest random weight, Thaler and Ravishankar): every candidate scores
 * {@code mix(hash64(key), hash64(worker id))} (a strong 64-bit mix of the two, the worker's hash computed once per
 * snapshot); the highest score wins. The key is found as for {@code consistent_hash}
 * ({@link ConsistentHashPolicy#KEY_HEADERS}, then the body's session fields, then the conversation's leading
 * messages); a request without any key goes to a random worker.
 * <p>Invariant: a key's ranking of workers does not depend on which other workers exist, so removing a worker moves
 * only the keys it won (about 1/N), and an unavailable or already-tried worker simply yields to the key's next-ranked
 * one. O(candidates) per pick, no derived structure; thread-safe.
 */
public final class RendezvousHashPolicy implements Policy {
    private final RandomSource random;

    public RendezvousHashPolicy(RandomSource random) {
        this.random = random;
    }

    @Override
    public String name() {
        return "rendezvous_hash";
    }

    @Override
    public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
        Candidates candidates = new Candidates(snapshot);
        // each worker's hash once per snapshot: a pick then mixes it with the key's hash (a few ns per worker)
        Map<Worker, Long> workerHashes = new IdentityHashMap<>();
        for (Worker w : snapshot.workers()) {
            workerHashes.put(w, Hashing.hash64(w.id()));
        }
        return (key, attempt) -> {
            List<Worker> workers = candidates.forModel(key.model());
            String[] source = new String[1];
            String hashKey = HashKeys.of(key, source);
            if (hashKey == null) {
                Worker w = RandomPolicy.pickUntried(workers, attempt, random);
                return w == null ? null : new Decision(w, "no_key");
            }
            long keyHash = Hashing.hash64(hashKey);
            Worker best = null;
            long bestScore = 0;
            for (Worker w : workers) {
                if (attempt.wasTried(w)) {
                    continue;
                }
                long score = Hashing.fmix64(keyHash ^ Long.rotateLeft(workerHashes.get(w), 17) * 0x9E3779B97F4A7C15L);
                if (best == null || Long.compareUnsigned(score, bestScore) > 0) {
                    best = w;
                    bestScore = score;
                }
            }
            return best == null ? null : new Decision(best, source[0]);
        };
    }
}
