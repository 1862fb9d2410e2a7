package dev.vllmrouter.policy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.policy.prefix.PrefixTree;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code cache_aware}: sends a request where its prompt's prefix is probably already in the KV cache, without
 * piling new work onto one worker. One {@link PrefixTree} per model remembers which worker served which prompt text
 * (for chat, the whole conversation rendered in order — vllm-router uses only a session id).
 * <p>The decision, per request, over the available untried workers serving the model:
 * <ol>
 *   <li><b>Imbalance guard</b> (vllm-router's rule and flags): if max − min load &gt; {@code --balance-abs-threshold}
 *       and max &gt; min × {@code --balance-rel-threshold}, the least-loaded worker.</li>
 *   <li><b>Distinctive match.</b> A prefix that other requests share as well — a common system prompt — is not a
 *       reason to prefer the workers that happened to serve it first: it is cheap to have on every worker, and
 *       following it would send every conversation to the same place (the hot spot users of every peer report).
 *       The tree reports where the prompt's path last branched ({@code sharedChars}); what a worker holds beyond that
 *       point is this conversation's own history, its <em>distinctive</em> match.</li>
 *   <li><b>Affinity</b> to the worker with the longest distinctive match when its whole match exceeds
 *       {@code --cache-threshold} of the prompt and the prefill it saves outweighs its extra load:
 *       {@code distinctive chars >= }{@value #CHARS_PER_QUEUED_REQUEST}{@code  × (its load − the least load)}.</li>
 *   <li>Otherwise (a new conversation, a weak match, or a busy owner) the least-loaded worker, taking turns among
 *       equally loaded ones so that new conversations spread even when nothing is in flight.</li>
 * </ol>
 * The prompt text is then recorded under the chosen worker. Load is {@link Worker#load()} (in-flight of every request
 * plus what the worker reports for others).
 * <p>Thread-safety: pickers share the policy's trees (thread-safe, see {@link PrefixTree}) and one rotation counter;
 * recording the prompt after a choice is the one write a pick makes. Workers leaving the fleet are removed from the
 * trees when the next picker is built; {@link #evict()} trims every tree to {@code --max-tree-size} characters per
 * worker and is called every {@code --eviction-interval} by the router.
 */
public final class CacheAwarePolicy implements Policy {
    /**
     * How many characters of already-cached prompt one extra request in flight is worth when deciding between cache
     * affinity and load: ~64 tokens of prefill per queued request.
     */
    static final int CHARS_PER_QUEUED_REQUEST = 256;

    private final PolicyConfig config;
    private final ConcurrentHashMap<String, PrefixTree> trees = new ConcurrentHashMap<>();
    private final AtomicLong rotation = new AtomicLong();
    private volatile Set<String> members = Set.of();

    public CacheAwarePolicy(PolicyConfig config) {
        this.config = config;
    }

    @Override
    public String name() {
        return "cache_aware";
    }

    @Override
    public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
        Set<String> now = new HashSet<>();
        for (Worker w : snapshot.workers()) {
            now.add(w.id());
        }
        for (String gone : members) {
            if (!now.contains(gone)) {
                trees.values().forEach(t -> t.removeTenant(gone));
            }
        }
        members = Set.copyOf(now);
        Candidates candidates = new Candidates(snapshot);
        return (key, attempt) -> pick(candidates, key, attempt);
    }

    /** Trims every tree to {@code --max-tree-size} characters per worker (least recently used first). */
    public void evict() {
        trees.values().forEach(t -> t.evict(config.maxTreeSize()));
    }

    /** Characters of prompt text held for {@code worker} over every model's tree (for metrics). */
    public long treeChars(String worker) {
        long sum = 0;
        for (PrefixTree t : trees.values()) {
            sum += t.chars(worker);
        }
        return sum;
    }

    /** The tree of {@code model}, created when it has none yet (the exact policy feeds and reads it). */
    PrefixTree treeFor(String model) {
        return trees.computeIfAbsent(Candidates.modelKey(model), m -> new PrefixTree());
    }

    /** The tree of {@code model}, for tests and benchmarks. */
    PrefixTree tree(String model) {
        return trees.get(Candidates.modelKey(model));
    }

    private Decision pick(Candidates candidates, RoutingKey key, Attempt attempt) {
        List<Worker> workers = attempt.untried(candidates.forModel(key.model()));
        if (workers.isEmpty()) {
            return null;
        }
        int n = workers.size();
        int[] loads = new int[n];
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            loads[i] = workers.get(i).load();
            min = Math.min(min, loads[i]);
            max = Math.max(max, loads[i]);
        }
        String text = key.promptText();
        PrefixTree tree = text.isEmpty() ? null
                : trees.computeIfAbsent(Candidates.modelKey(key.model()), m -> new PrefixTree());
        Decision d;
        if (max - min > config.balanceAbsThreshold() && max > min * config.balanceRelThreshold()) {
            d = new Decision(leastLoaded(workers, loads, min), "load_balance");
        } else if (tree == null) {
            d = new Decision(leastLoaded(workers, loads, min), "no_prompt");
        } else {
            d = byCache(tree.match(text), workers, loads, min);
        }
        if (tree != null) {
            tree.insert(text, d.worker().id());
        }
        return d;
    }

    private Decision byCache(PrefixTree.Match match, List<Worker> workers, int[] loads, int min) {
        int input = match.inputChars();
        int shared = match.sharedChars();
        // one pass over the match (every worker may hold the shared prefix: a per-worker lookup would be O(N^2))
        java.util.Map<String, Integer> matchedBy = new java.util.HashMap<>(match.tenants().size() * 2);
        for (int t = 0; t < match.tenants().size(); t++) {
            matchedBy.put(match.tenants().get(t), match.matchedChars()[t]);
        }
        Worker best = null;
        int bestLoad = 0;
        int bestDistinct = 0;
        int bestMatched = 0;
        for (int i = 0; i < workers.size(); i++) {
            Worker w = workers.get(i);
            int matched = matchedBy.getOrDefault(w.id(), 0);
            int distinct = matched - shared;
            if (distinct > bestDistinct || (distinct == bestDistinct && distinct > 0 && loads[i] < bestLoad)) {
                best = w;
                bestLoad = loads[i];
                bestDistinct = distinct;
                bestMatched = matched;
            }
        }
        double share = input == 0 ? 0 : (double) bestMatched / input;
        if (best != null && share > config.cacheThreshold()
                && bestDistinct >= (long) CHARS_PER_QUEUED_REQUEST * (bestLoad - min)) {
            return new Decision(best, "prefix_match", share);
        }
        Worker chosen = leastLoaded(workers, loads, min);
        String reason = best == null ? (match.longest() > 0 ? "shared_prefix_spread" : "new_prefix")
                : share > config.cacheThreshold() ? "owner_busy" : "low_match";
        return new Decision(chosen, reason, input == 0 ? 0 : (double) matchedBy.getOrDefault(chosen.id(), 0) / input);
    }

    /**
     * One of the workers with load {@code min}: the first one at or after a rotating start position. Rotating over
     * the whole list (not over the tied subset, which changes from call to call) places new conversations evenly.
     */
    private Worker leastLoaded(List<Worker> workers, int[] loads, int min) {
        int n = loads.length;
        int start = (int) Math.floorMod(rotation.getAndIncrement(), (long) n);
        for (int i = 0; i < n; i++) {
            int k = (start + i) % n;
            if (loads[k] == min) {
                return workers.get(k);
            }
        }
        throw new IllegalStateException("unreachable");
    }
}
