package dev.vllmrouter.policy;

import java.util.List;

import dev.vllmrouter.common.Hashing;
import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code rendezvous_hash} (highest random weight, Thaler and Ravishankar): every candidate scores
 * {@code hash64("<key>:<worker id>")}; the highest score wins. The key is found as for {@code consistent_hash}
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
        return (key, attempt) -> {
            List<Worker> workers = candidates.forModel(key.model());
            String[] source = new String[1];
            String hashKey = HashKeys.of(key, source);
            if (hashKey == null) {
                Worker w = RandomPolicy.pickUntried(workers, attempt, random);
                return w == null ? null : new Decision(w, "no_key");
            }
            Worker best = null;
            long bestScore = 0;
            StringBuilder sb = new StringBuilder(hashKey.length() + 48);
            for (Worker w : workers) {
                if (attempt.wasTried(w)) {
                    continue;
                }
                sb.setLength(0);
                sb.append(hashKey).append(':').append(w.id());
                long score = Hashing.hash64(sb);
                if (best == null || Long.compareUnsigned(score, bestScore) > 0) {
                    best = w;
                    bestScore = score;
                }
            }
            return best == null ? null : new Decision(best, source[0]);
        };
    }
}
