package dev.vllmrouter.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

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
 * (cache_aware without events) and the oracle, on a fleet under cache pressure, in three situations where the tree is
 * blind: evictions only; a router restart half-way (both policies lose their memory; the index is rebuilt from the
 * engines' replay buffers, as with {@code --kv-events-replay-port} when they reach back far enough); and
 * {@code /reset_prefix_cache} on every worker half-way (the events say so, the tree does not know); two router
 * replicas taking turns (each tree sees half the traffic, the index all of it). The index is fed
 * by each worker's prefix-cache changes at once (no event lag) and every source is exact.
 */
final class KvQuality {
    private KvQuality() {
    }

    enum Situation {
        EVICTIONS("evictions"), RESTART("router restart half-way"), RESET("/reset_prefix_cache half-way"),
        REPLICAS("two router replicas, requests alternate");

        final String label;

        Situation(String label) {
            this.label = label;
        }
    }

    record Row(Situation situation, SimResult oracle, SimResult tree, SimResult exact) {
    }

    static List<Row> run(QualityParams p, ChatText text) {
        List<Row> rows = new ArrayList<>();
        for (Situation s : Situation.values()) {
            rows.add(new Row(s, oracle(p, text, s), tree(p, text, s), exact(p, text, s)));
        }
        return rows;
    }

    private static Consumer<FleetSim> reset(Situation s, Runnable restart) {
        return switch (s) {
            case EVICTIONS, REPLICAS -> null;
            case RESTART -> sim -> restart.run();
            case RESET -> FleetSim::resetCaches;
        };
    }

    private static SimResult oracle(QualityParams p, ChatText text, Situation s) {
        List<Worker> ws = Fleet.of(p.workers()).snapshot().workers();
        return new FleetSim(p, text, ws, new OracleRouter(ws), null, null, null, reset(s, () -> { })).run("oracle");
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
        return new FleetSim(p, text, registry.snapshot().workers(), (c, key) ->
                (s == Situation.REPLICAS && n[0]++ % 2 == 1 ? otherPicker : picker[0]).pick(key, Attempt.first()),
                () -> {
                    policy[0].evict();
                    other.evict();
                }, null, null, reset(s, restart)).run("cache_aware (tree)");
    }

    private static SimResult exact(QualityParams p, ChatText text, Situation s) {
        WorkerRegistry registry = Fleet.of(p.workers());
        PolicyConfig config = PolicyConfig.defaults("cache_aware");
        AtomicLong clock = new AtomicLong();
        KvIndex index = new KvIndex(clock::get, KvIndex.DEFAULT_MAX_BLOCKS);
        KvAwarePolicy[] policy = {new KvAwarePolicy(new CacheAwarePolicy(config), index, id -> SourceState.EXACT)};
        Picker[] picker = {policy[0].newPicker(registry.snapshot(), null)};
        Runnable restart = () -> {
            policy[0] = new KvAwarePolicy(new CacheAwarePolicy(config), index, id -> SourceState.EXACT);
            picker[0] = policy[0].newPicker(registry.snapshot(), null);
        };
        // a second replica follows the same events: the same index content, its own tree
        KvAwarePolicy other = new KvAwarePolicy(new CacheAwarePolicy(config), index, id -> SourceState.EXACT);
        Picker otherPicker = other.newPicker(registry.snapshot(), null);
        long[] n = {0};
        return new FleetSim(p, text, registry.snapshot().workers(), (c, key) ->
                (s == Situation.REPLICAS && n[0]++ % 2 == 1 ? otherPicker : picker[0]).pick(key, Attempt.first()),
                () -> {
                    policy[0].tree().evict();
                    other.tree().evict();
                    index.expireSpeculation();
                }, index, clock, reset(s, restart)).run("cache_aware (KV-event index)");
    }

    static void print(QualityParams p, List<Row> rows) {
        Table t = new Table("situation", "policy", "hit rate", "vs oracle", "busy max/mean", "latency mean ms",
                "latency p99 ms");
        for (Row r : rows) {
            double oracle = r.oracle().hitRate();
            for (SimResult x : List.of(r.oracle(), r.tree(), r.exact())) {
                t.row(r.situation().label, x.policy(), Table.pct(x.hitRate()),
                        Table.pct(oracle == 0 ? 0 : x.hitRate() / oracle), Table.num(x.busyMaxOverMean(), 2),
                        Table.num(x.meanLatencyMs(), 0), Table.num(x.p99LatencyMs(), 0));
            }
        }
        System.out.printf(Locale.ROOT, "## Exact KV-event index vs approximate tree (%d workers, %,d blocks each, "
                + "%d conversations in progress)%n%n", p.workers(), p.capacityBlocks(), p.active());
        System.out.print(t.render());
        System.out.println();
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "- %s: exact routing at %.1f %% of the oracle's hit rate (target ≥ 95 %%), "
                            + "the tree at %.1f %%; decisions of the exact policy: %s%n", r.situation().label,
                    100 * r.exact().hitRate() / r.oracle().hitRate(), 100 * r.tree().hitRate() / r.oracle().hitRate(),
                    r.exact().reasons());
        }
        System.out.println();
    }
}
