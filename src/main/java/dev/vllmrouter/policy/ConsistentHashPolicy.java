package dev.vllmrouter.policy;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.vllmrouter.common.Hashing;
import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code consistent_hash}: requests with the same key go to the same worker, through a {@link HashRing} of
 * {@value HashRing#VIRTUAL_NODES} virtual nodes per worker. The key is, in this order (vllm-router's priority, read
 * with a JSON parser instead of its text scan): the first non-empty header of {@code x-session-id},
 * {@code x-user-id}, {@code x-tenant-id}, {@code x-correlation-id}, {@code x-request-id}, {@code x-trace-id}; the
 * body's {@code session_params.session_id}, {@code user}, {@code session_id}, {@code user_id}; and, unlike
 * vllm-router (whose chats without a session all hash the same empty text onto one worker), the conversation's
 * leading messages, so a chat sticks to one worker across turns while different chats spread. A request with no key
 * at all goes to a random worker.
 * <p>The ring holds every registered worker serving the model (available or not), so a worker that is temporarily
 * unusable keeps its place: its keys walk to the next distinct worker clockwise and come back when it recovers, and
 * only a worker leaving the fleet moves keys for good — about 1/N of them.
 * <p>Invariant: for a fixed snapshot, a key maps to one worker; the ring per model is built once per snapshot.
 * Thread-safe (rings are immutable, built under {@link ConcurrentHashMap#computeIfAbsent}).
 */
public final class ConsistentHashPolicy implements Policy {
    /** Header names read for the key, in priority order. */
    public static final List<String> KEY_HEADERS =
            List.of("x-session-id", "x-user-id", "x-tenant-id", "x-correlation-id", "x-request-id", "x-trace-id");

    private final RandomSource random;

    public ConsistentHashPolicy(RandomSource random) {
        this.random = random;
    }

    @Override
    public String name() {
        return "consistent_hash";
    }

    @Override
    public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
        return new RingPicker(snapshot, new Candidates(snapshot), random);
    }

    /** The ring of a model and the members requests may go to now. */
    private record ModelRing(HashRing ring, Set<Worker> usable) {
    }

    private static final class RingPicker implements Picker {
        private final WorkerSnapshot snapshot;
        private final Candidates candidates;
        private final RandomSource random;
        private final ConcurrentHashMap<String, ModelRing> rings = new ConcurrentHashMap<>();

        RingPicker(WorkerSnapshot snapshot, Candidates candidates, RandomSource random) {
            this.snapshot = snapshot;
            this.candidates = candidates;
            this.random = random;
        }

        @Override
        public Decision pick(RoutingKey key, Attempt attempt) {
            String[] keySource = new String[1];
            String hashKey = HashKeys.of(key, keySource);
            String source = keySource[0];
            if (hashKey == null) {
                Worker w = RandomPolicy.pickUntried(candidates.forModel(key.model()), attempt, random);
                return w == null ? null : new Decision(w, "no_key");
            }
            ModelRing mr = rings.computeIfAbsent(Candidates.modelKey(key.model()), m -> build(key.model()));
            boolean[] owner = {false};
            Worker w = mr.ring.walk(Hashing.hash64(hashKey), (candidate, isOwner) -> {
                if (mr.usable.contains(candidate) && !attempt.wasTried(candidate)) {
                    owner[0] = isOwner;
                    return true;
                }
                return false;
            });
            if (w == null) {
                return null;
            }
            return new Decision(w, owner[0] ? source : source + "_next");
        }

        private ModelRing build(String model) {
            Set<Worker> usable = Collections.newSetFromMap(new IdentityHashMap<>());
            usable.addAll(candidates.forModel(model));
            return new ModelRing(new HashRing(snapshot.workers(model)), usable);
        }
    }
}
