package dev.vllmrouter.policy;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import dev.vllmrouter.kvevents.SourceState;
import dev.vllmrouter.kvindex.BlockKeys;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.kvindex.Medium;
import dev.vllmrouter.policy.prefix.PrefixTree;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * {@code cache_aware} when the router follows the workers' KV-cache events ({@code --kv-events-port}): each candidate
 * is scored by its predicted time to first token, in tokens of prefill, and the cheapest wins. One cost, no
 * threshold that switches between "follow the cache" and "balance the load".
 *
 * <p>Cost of worker {@code w} for a prompt of {@code T} tokens:
 * <pre>
 *   cost(w) = {@value #QUEUE_TOKENS} × load(w)                       the requests ahead of this one
 *           + (T − held(w))                                          tokens it must prefill
 *           + {@value #CPU_COST} × cpu(w)  (or {@value #STORAGE_COST} for a slower tier)  held tokens it must load
 * </pre>
 * {@code load(w)} is {@link Worker#load()} (this router's in-flight plus what the worker reports queued and running,
 * as power_of_two uses); {@code held(w)} the leading prompt tokens the worker holds, GPU-held ones free, those in a
 * CPU (or slower) tier at a discount. Where {@code held} comes from depends on the worker's {@link SourceState}: the
 * exact index ({@link KvIndex#lookup}, by the prompt's token ids) for {@code exact} and {@code degraded} workers (a
 * degraded index may under-report, never over-report), the approximate {@link PrefixTree} of {@link CacheAwarePolicy}
 * for {@code fallback} ones (its matched share of the prompt text, in tokens). The lowest cost wins; equal costs take
 * turns (a rotating start), so new conversations spread even at zero load. A request whose token ids the router
 * cannot compute (no tokenizer for its model, images, other routes) is routed by {@link CacheAwarePolicy} as without
 * events.
 *
 * <p>After a decision the prompt text is recorded in the tree for the chosen worker (so the tree is ready for any
 * worker that drops to fallback) and, when the worker's events are trusted, its blocks are marked as held by it for
 * {@link #SPECULATION_TTL} ({@link KvIndex#speculateKeys}), so a burst of one prefix does not scatter before the
 * events arrive; only the blocks past the run its events already hold are marked (the new tail: a later turn marks a
 * few blocks, not its whole history). The decision carries the predicted cached tokens
 * ({@link Decision#predictedCached}: GPU-held tokens, capped as vLLM caps a hit, at the last full block before the
 * prompt's last token) for the closed loop, except when the prediction rests on speculation or the tree.
 *
 * <p>Thread-safety: the index is read without locks; the tree and the speculation map are thread-safe; one rotation
 * counter. Pure apart from those writes: no I/O, the clock is the index's.
 */
public final class KvAwarePolicy implements Policy {
    /** Prefill-equivalent tokens of one request already in flight on a worker. */
    static final int QUEUE_TOKENS = 256;
    /** Cost of a prompt token held in the CPU tier, relative to computing it (a copy to the GPU, not a prefill). */
    static final double CPU_COST = 0.25;
    /** Cost of a prompt token held in a slower tier (disk, remote storage). */
    static final double STORAGE_COST = 0.5;
    /** How long a routing-time guess marks a prompt's blocks as held by the chosen worker. */
    static final Duration SPECULATION_TTL = Duration.ofSeconds(5);
    /** The block size assumed for a worker whose events carried none yet (vLLM's default). */
    static final int DEFAULT_BLOCK_SIZE = 16;

    private final CacheAwarePolicy tree;
    private final KvIndex index;
    private final Function<String, SourceState> states;
    private final int queueTokens;
    private final Duration speculationTtl;
    private final AtomicLong rotation = new AtomicLong();

    /**
     * @param tree   the approximate policy: routes requests without token ids, and its trees serve fallback workers
     * @param index  the exact index the KV-event subscriber feeds
     * @param states each worker's source state ({@link SourceState#FALLBACK} for a worker that is not subscribed)
     */
    public KvAwarePolicy(CacheAwarePolicy tree, KvIndex index, Function<String, SourceState> states) {
        this(tree, index, states, QUEUE_TOKENS, SPECULATION_TTL);
    }

    /**
     * As {@link #KvAwarePolicy(CacheAwarePolicy, KvIndex, Function)} with other constants, for measurements: the
     * benchmark varies them to show what each buys.
     *
     * @param queueTokens    prefill-equivalent tokens of one request ahead (default {@value #QUEUE_TOKENS}; 0: load
     *                       ignored)
     * @param speculationTtl how long a decision marks the prompt's blocks as held (default 5 s; zero: no speculation)
     */
    public KvAwarePolicy(CacheAwarePolicy tree, KvIndex index, Function<String, SourceState> states, int queueTokens,
                         Duration speculationTtl) {
        if (queueTokens < 0 || speculationTtl.isNegative()) {
            throw new IllegalArgumentException("queueTokens and speculationTtl must not be negative");
        }
        this.tree = tree;
        this.index = index;
        this.states = states;
        this.queueTokens = queueTokens;
        this.speculationTtl = speculationTtl;
    }

    @Override
    public String name() {
        return "cache_aware";
    }

    /** The approximate policy inside (its trees are trimmed and measured like a plain cache_aware's). */
    public CacheAwarePolicy tree() {
        return tree;
    }

    @Override
    public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
        Picker byTree = tree.newPicker(snapshot, previous instanceof Bound b ? b.byTree : null);
        Candidates candidates = new Candidates(snapshot);
        return new Bound(byTree, candidates);
    }

    private final class Bound implements Picker {
        final Picker byTree;
        final Candidates candidates;

        Bound(Picker byTree, Candidates candidates) {
            this.byTree = byTree;
            this.candidates = candidates;
        }

        @Override
        public Decision pick(RoutingKey key, Attempt attempt) {
            PromptIds ids = key.promptIds();
            if (ids == null || ids.tokens().length == 0) {
                return byTree.pick(key, attempt);
            }
            return byCost(candidates, key, ids, attempt);
        }
    }

    /** One candidate's score. */
    private record Score(Worker worker, SourceState state, int load, int held, int gpu, int predicted,
                         boolean speculative, int confirmedBlocks, double cost) {
    }

    private Decision byCost(Candidates candidates, RoutingKey key, PromptIds ids, Attempt attempt) {
        List<Worker> all = candidates.forModel(key.model());
        List<Worker> workers = attempt.untried(all);
        if (workers.isEmpty()) {
            return null;
        }
        int[] tokens = ids.tokens();
        int total = tokens.length;
        String text = key.promptText();
        PrefixTree prefixTree = tree.treeFor(key.model());
        PrefixTree.Match treeMatch = null;
        Map<Integer, long[]> keysBySize = new HashMap<>(2);
        Map<Integer, Map<String, KvIndex.Match>> byBlockSize = new HashMap<>(2);
        int n = workers.size();
        Score[] scores = new Score[n];
        for (int i = 0; i < n; i++) {
            Worker w = workers.get(i);
            SourceState state = states.apply(w.id());
            int load = w.load();
            int held = 0;
            int gpu = 0;
            int predicted = -1;
            boolean speculative = false;
            int confirmedBlocks = 0;
            double holdCost = 0;
            if (state == SourceState.FALLBACK) {
                if (!text.isEmpty()) {
                    if (treeMatch == null) {
                        treeMatch = prefixTree.match(text);
                    }
                    held = (int) ((long) total * matchedChars(treeMatch, w.id()) / Math.max(1, treeMatch.inputChars()));
                    gpu = held;
                }
            } else {
                int blockSize = blockSize(w);
                {
                    long[] keys = keysBySize.computeIfAbsent(blockSize,
                            bs -> BlockKeys.chain(tokens, bs, ids.lora(), ids.cacheSalt()));
                    KvIndex.Match m = byBlockSize.computeIfAbsent(blockSize,
                            bs -> index.lookupKeys(keys, bs)).get(w.id());
                    if (m != null) {
                        held = m.tokens();
                        gpu = m.gpuTokens();
                        speculative = m.speculative();
                        // a run without guesses is all event-fed: speculation need not repeat it
                        confirmedBlocks = speculative ? 0 : held / blockSize;
                        holdCost = (held - gpu) * (m.medium() == Medium.STORAGE ? STORAGE_COST : CPU_COST);
                    }
                    // vLLM recomputes at least the last prompt token: a hit ends at the last full block before it
                    predicted = Math.min(gpu, (total - 1) / blockSize * blockSize);
                }
            }
            double cost = (double) queueTokens * load + (total - held) + holdCost;
            scores[i] = new Score(w, state, load, held, gpu, predicted, speculative, confirmedBlocks, cost);
        }
        int start = (int) Math.floorMod(rotation.getAndIncrement(), (long) n);
        Score best = null;
        Score second = null;
        for (int k = 0; k < n; k++) {
            Score s = scores[(start + k) % n];
            if (best == null || s.cost < best.cost) {
                second = best;
                best = s;
            } else if (second == null || s.cost < second.cost) {
                second = s;
            }
        }
        Worker chosen = best.worker;
        if (!text.isEmpty()) {
            prefixTree.insert(text, chosen.id());
        }
        if (best.state != SourceState.FALLBACK && !speculationTtl.isZero()) {
            long[] keys = keysBySize.computeIfAbsent(blockSize(chosen),
                    bs -> BlockKeys.chain(tokens, bs, ids.lora(), ids.cacheSalt()));
            index.speculateKeys(chosen.id(), keys, best.confirmedBlocks, speculationTtl);
        }
        String reason = reason(best, second);
        int predicted = best.state == SourceState.FALLBACK || best.speculative ? -1 : best.predicted;
        return new Decision(chosen, reason, (double) best.held / total, predicted, detail(best, second, total));
    }

    private int blockSize(Worker w) {
        int size = index.blockSize(w.id());
        return size > 0 ? size : DEFAULT_BLOCK_SIZE;
    }

    private static int matchedChars(PrefixTree.Match match, String worker) {
        List<String> tenants = match.tenants();
        for (int t = 0; t < tenants.size(); t++) {
            if (tenants.get(t).equals(worker)) {
                return match.matchedChars()[t];
            }
        }
        return 0;
    }

    /**
     * Why the winner won against the runner-up: {@code only_worker}; {@code kv_prefix} (it holds more of the prompt,
     * which outweighed any extra load); {@code kv_load} (less loaded, holding no more); {@code kv_spread} (equal cost:
     * taking turns).
     */
    private static String reason(Score best, Score second) {
        if (second == null) {
            return "only_worker";
        }
        if (best.cost == second.cost) {
            return "kv_spread";
        }
        return best.held > second.held || best.gpu > second.gpu ? "kv_prefix" : "kv_load";
    }

    private static String detail(Score best, Score second, int total) {
        StringBuilder sb = new StringBuilder(160);
        sb.append("index=").append(best.state.label()).append("; matched=").append(best.held).append('/').append(total)
                .append("; load=").append(best.load).append("; cost=").append(cost(best.cost));
        if (second != null) {
            sb.append("; runner_up=").append(second.worker.id()).append("; runner_up_index=")
                    .append(second.state.label()).append("; runner_up_matched=").append(second.held).append('/')
                    .append(total).append("; runner_up_load=").append(second.load).append("; runner_up_cost=")
                    .append(cost(second.cost));
        }
        return sb.toString();
    }

    private static String cost(double c) {
        return c == Math.rint(c) ? Long.toString((long) c) : String.format(Locale.ROOT, "%.1f", c);
    }
}
