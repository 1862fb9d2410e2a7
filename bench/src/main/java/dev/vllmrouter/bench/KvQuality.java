package dev.vllmrouter.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

import dev.vllmrouter.common.Hashing;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.kvevents.SourceState;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.CacheAwarePolicy;
import dev.vllmrouter.policy.KvAwarePolicy;
import dev.vllmrouter.policy.Picker;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * Exact prefix-cache routing (cache_aware with the KV-event index, {@link KvAwarePolicy}) beside the approximate tree
 * (cache_aware without events) and the oracle, on a fleet under cache pressure, in situations of two kinds.
 * <p>Alike for every worker: evictions only; a router restart half-way (both policies lose their memory; the index
 * is rebuilt from the engines' replay buffers, as with {@code --kv-events-replay-port} when they reach back far
 * enough); {@code /reset_prefix_cache} on every worker half-way; two router replicas taking turns (each tree sees half
 * the traffic, the index all of it).
 * <p>One worker apart, where the tree is blind: worker 0's engine restarts half-way (its cache empties, the tree
 * still believes it holds its conversations); worker 0's cache is reset every 10 s by someone else; worker 0's cache is
 * churned by traffic the router does not see (1,024-token prompts of random ids every 100 ms, about 0.6 of its
 * capacity per second); and the events reach the index late (1 s, 10 s), where speculation has to cover.
 * <p>Shared documents: the same fleet, but each conversation starts with one of {@value #DOCUMENTS} 8 KiB system
 * prompts (2,048 tokens: long shared prefixes, as with RAG or few-shot prompts) instead of one 2 KiB prompt; evictions
 * only, worker 0 restarting half-way, worker 0 churned by unseen traffic. Here another worker usually holds what a
 * blind worker lost.
 * <p>Variants of the exact policy, to show what its constants buy: the load weight from 0 to 1024 tokens per request
 * ahead (evictions only), no speculation (evictions and lags). The index is fed by each worker's prefix-cache changes (at once
 * unless a lag is set) and every source is exact.
 */
final class KvQuality {
    /** The churning traffic on worker 0 of {@link Situation#UNSEEN}: a prompt of this many tokens ... */
    static final int FOREIGN_TOKENS = 1024;
    /** ... every this many µs of virtual time. */
    static final long FOREIGN_EVERY_US = 100_000;
    /** The shared-documents workload: this many system prompts ... */
    static final int DOCUMENTS = 4;
    /** ... of this many chars each (2,048 tokens), conversation c starting with document c % 4. */
    static final int DOCUMENT_CHARS = 8192;

    private KvQuality() {
    }

    enum Situation {
        EVICTIONS("evictions (all workers alike)", true, false),
        RESTART("router restart half-way", false, false),
        RESET("/reset_prefix_cache on every worker half-way", false, false),
        REPLICAS("two router replicas, requests alternate", false, false),
        WORKER_RESTART("worker 0 restarts half-way (the tree still believes it)", false, false),
        WORKER_RESETS("worker 0's cache reset every 10 s by someone else", false, false),
        UNSEEN("worker 0 churned by traffic the router does not see", false, false),
        LAG_1S("events 1 s late", true, false),
        LAG_10S("events 10 s late", true, false),
        DOCS("documents: evictions", false, true),
        DOCS_WORKER_RESTART("documents: worker 0 restarts half-way", false, true),
        DOCS_UNSEEN("documents: worker 0 churned by unseen traffic", false, true);

        final String label;
        /** Whether the exact policy also runs without speculation. */
        final boolean variants;
        /** Whether the workload is the shared-documents one ({@link #DOCUMENTS} system prompts). */
        final boolean documents;

        Situation(String label, boolean variants, boolean documents) {
            this.label = label;
            this.variants = variants;
            this.documents = documents;
        }

        long lagUs() {
            return this == LAG_1S ? 1_000_000 : this == LAG_10S ? 10_000_000 : 0;
        }
    }

    /** A variant of the exact policy: its load weight and speculation. */
    record Variant(String name, int queueTokens, Duration speculationTtl) {
        static final Variant DEFAULT = new Variant("cache_aware (KV-event index)", 256, Duration.ofSeconds(5));
        static final Variant NO_SPECULATION = new Variant("index, no speculation", 256, Duration.ZERO);
        /** The load weight swept: what the default's lower hit rate buys. */
        static final List<Variant> WEIGHTS = List.of(
                new Variant("index, 0 × load", 0, Duration.ofSeconds(5)),
                new Variant("index, 64 × load", 64, Duration.ofSeconds(5)),
                new Variant("index, 128 × load", 128, Duration.ofSeconds(5)),
                new Variant("index, 512 × load", 512, Duration.ofSeconds(5)),
                new Variant("index, 1024 × load", 1024, Duration.ofSeconds(5)));
    }

    record Row(Situation situation, SimResult oracle, List<SimResult> results) {
    }

    static List<Row> run(QualityParams p, ChatText chats) {
        List<Row> rows = new ArrayList<>();
        ChatText documents = new ChatText(p.seed(), DOCUMENT_CHARS, p.userChars(), p.answerChars(), DOCUMENTS);
        for (Situation s : Situation.values()) {
            ChatText text = s.documents ? documents : chats;
            List<SimResult> results = new ArrayList<>();
            SimResult oracle = oracle(p, text, s);
            results.add(oracle);
            results.add(tree(p, text, s));
            results.add(exact(p, text, s, Variant.DEFAULT));
            if (s == Situation.EVICTIONS) {
                for (Variant v : Variant.WEIGHTS) {
                    results.add(exact(p, text, s, v));
                }
            }
            if (s.variants) {
                results.add(exact(p, text, s, Variant.NO_SPECULATION));
            }
            rows.add(new Row(s, oracle, results));
        }
        return rows;
    }

    /** The situation's disturbances other than at half-way, set on a simulation before it runs. */
    private static FleetSim disturbed(FleetSim sim, QualityParams p, Situation s) {
        sim.eventLag(s.lagUs());
        switch (s) {
            case WORKER_RESETS -> sim.every(10_000_000, 10_000_000, f -> f.resetCache(0));
            case UNSEEN, DOCS_UNSEEN -> {
                SplittableRandom random = new SplittableRandom(Hashing.fmix64(p.seed() ^ 0x5EED));
                sim.every(FOREIGN_EVERY_US, FOREIGN_EVERY_US, f -> f.foreignPrompt(0, FOREIGN_TOKENS, random));
            }
            default -> {
            }
        }
        return sim;
    }

    private static java.util.function.Consumer<FleetSim> atHalf(Situation s, Runnable restart) {
        return switch (s) {
            case RESTART -> sim -> restart.run();
            case RESET -> FleetSim::resetCaches;
            case WORKER_RESTART, DOCS_WORKER_RESTART -> sim -> sim.resetCache(0);
            default -> null;
        };
    }

    private static SimResult oracle(QualityParams p, ChatText text, Situation s) {
        List<Worker> ws = Fleet.of(p.workers()).snapshot().workers();
        return disturbed(new FleetSim(p, text, ws, new OracleRouter(ws), null, List.of(), null, atHalf(s, () -> { })),
                p, s).run("oracle");
    }

    private static SimResult tree(QualityParams p, ChatText text, Situation s) {
        WorkerRegistry registry = Fleet.of(p.workers());
        PolicyConfig config = PolicyConfig.defaults("cache_aware");
        CacheAwarePolicy[] policy = {new CacheAwarePolicy(config)};
        Picker[] picker = {policy[0].newPicker(registry.snapshot(), null)};
        Runnable restart = () -> {
            policy[0] = new CacheAwarePolicy(config);
            picker[0] = policy[0].newPicker(registry.snapshot(), null);
        };
        CacheAwarePolicy other = new CacheAwarePolicy(config);
        Picker otherPicker = other.newPicker(registry.snapshot(), null);
        long[] n = {0};
        FleetSim sim = new FleetSim(p, text, registry.snapshot().workers(), (c, key) ->
                (s == Situation.REPLICAS && n[0]++ % 2 == 1 ? otherPicker : picker[0]).pick(key, Attempt.first()),
                () -> {
                    policy[0].evict();
                    other.evict();
                }, List.of(), null, atHalf(s, restart));
        return disturbed(sim, p, s).run("cache_aware (tree)");
    }

    private static SimResult exact(QualityParams p, ChatText text, Situation s, Variant v) {
        WorkerRegistry registry = Fleet.of(p.workers());
        PolicyConfig config = PolicyConfig.defaults("cache_aware");
        AtomicLong clock = new AtomicLong();
        KvIndex index = new KvIndex(clock::get, KvIndex.DEFAULT_MAX_BLOCKS);
        KvAwarePolicy[] policy = {kvAware(config, index, v)};
        Picker[] picker = {policy[0].newPicker(registry.snapshot(), null)};
        Runnable restart = () -> {
            policy[0] = kvAware(config, index, v);
            picker[0] = policy[0].newPicker(registry.snapshot(), null);
        };
        // a second replica follows the same events: the same index content, its own tree
        KvAwarePolicy other = kvAware(config, index, v);
        Picker otherPicker = other.newPicker(registry.snapshot(), null);
        long[] n = {0};
        FleetSim sim = new FleetSim(p, text, registry.snapshot().workers(), (c, key) ->
                (s == Situation.REPLICAS && n[0]++ % 2 == 1 ? otherPicker : picker[0]).pick(key, Attempt.first()),
                () -> {
                    policy[0].tree().evict();
                    other.tree().evict();
                    index.expireSpeculation();
                }, List.of(index), clock, atHalf(s, restart));
        return disturbed(sim, p, s).run(v.name());
    }

    private static KvAwarePolicy kvAware(PolicyConfig config, KvIndex index, Variant v) {
        return new KvAwarePolicy(new CacheAwarePolicy(config), index, id -> SourceState.EXACT, v.queueTokens(),
                v.speculationTtl());
    }

    static void print(QualityParams p, List<Row> rows) {
        Table t = new Table("situation", "policy", "hit rate", "vs oracle", "busy max/mean", "latency mean ms",
                "latency p99 ms");
        for (Row r : rows) {
            double oracle = r.oracle().hitRate();
            for (SimResult x : r.results()) {
                t.row(r.situation().label, x.policy(), Table.pct(x.hitRate()),
                        Table.pct(oracle == 0 ? 0 : x.hitRate() / oracle), Table.num(x.busyMaxOverMean(), 2),
                        Table.num(x.meanLatencyMs(), 0), Table.num(x.p99LatencyMs(), 0));
            }
        }
        System.out.printf(Locale.ROOT, "## Exact KV-event index vs approximate tree (%d workers, %,d blocks each, "
                + "%d conversations in progress)%n%n", p.workers(), p.capacityBlocks(), p.active());
        System.out.print(t.render());
        System.out.println();
        System.out.println("Decisions of the exact policies (reason: count):");
        System.out.println();
        for (Row r : rows) {
            for (SimResult x : r.results()) {
                if (!x.policy().contains("index")) {
                    continue;
                }
                System.out.printf(Locale.ROOT, "- %s, %s: %s%n", r.situation().label, x.policy(), x.reasons());
            }
        }
        System.out.println();
    }
}
