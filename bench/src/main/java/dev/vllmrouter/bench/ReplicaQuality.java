package dev.vllmrouter.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

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
 * Several router replicas behind one Kubernetes Service, each request going to one of them at random (what
 * kube-proxy does per connection), on the fleet of {@link KvQuality} (evictions, one 2 KiB system prompt).
 * <p>Each replica is a router of its own: its own {@code Worker} objects (its own in-flight counts), its own tree,
 * and with the KV-event index its own {@link KvIndex}, fed by the same events as every other replica's (each replica
 * subscribes to every worker). What a replica knows of the others' traffic is what the workers report: every
 * {@code sample} of virtual time each replica's workers get {@link Worker#observeQueue} with the requests running on
 * them from all replicas (the scrape of {@code /metrics} every {@code --load-check-interval-secs}); in between, only
 * its own in-flight changes are seen.
 * Two rows take each sample at full weight, as the router did before {@code ExternalLoad} discounted a sample for its
 * staleness: what the discount buys.
 * <p>Disturbances: one replica killed half-way (the Service then spreads over two); one replica restarted half-way (a
 * rolling update: its tree and counts start empty; its index is rebuilt from the engines' replay buffers, as with
 * {@code --kv-events-replay-port}, so it is modelled as kept).
 */
final class ReplicaQuality {
    static final int REPLICAS = 3;
    static final long HALF_SECOND_US = 500_000;
    static final long FIVE_SECONDS_US = 5_000_000;

    private ReplicaQuality() {
    }

    enum Disturbance { NONE, KILL, ROLL }

    enum Situation {
        ONE("one router", 1, HALF_SECOND_US, Disturbance.NONE),
        SAMPLED_100MS("3 replicas, worker load sampled every 0.1 s", REPLICAS, 100_000, Disturbance.NONE),
        SAMPLED_250MS("3 replicas, worker load sampled every 0.25 s", REPLICAS, 250_000, Disturbance.NONE),
        SAMPLED("3 replicas, worker load sampled every 0.5 s", REPLICAS, HALF_SECOND_US, Disturbance.NONE),
        SAMPLED_1S("3 replicas, worker load sampled every 1 s", REPLICAS, 1_000_000, Disturbance.NONE),
        DEFAULT_SAMPLING("3 replicas, sampled every 5 s (the flag's default)", REPLICAS, FIVE_SECONDS_US,
                Disturbance.NONE),
        FULL_WEIGHT("3 replicas, every 0.5 s, samples at full weight (no discount)", REPLICAS, HALF_SECOND_US,
                Disturbance.NONE),
        FULL_WEIGHT_5S("3 replicas, every 5 s, samples at full weight (no discount)", REPLICAS, FIVE_SECONDS_US,
                Disturbance.NONE),
        UNSAMPLED("3 replicas, each knowing only its own in-flight", REPLICAS, 0, Disturbance.NONE),
        KILLED("3 replicas (0.5 s), one killed half-way", REPLICAS, HALF_SECOND_US, Disturbance.KILL),
        ROLLED("3 replicas (0.5 s), one restarted half-way", REPLICAS, HALF_SECOND_US, Disturbance.ROLL);

        final String label;
        final int replicas;
        /** Virtual µs between load samples, 0 for none. */
        final long sampleUs;
        final Disturbance disturbance;

        Situation(String label, int replicas, long sampleUs, Disturbance disturbance) {
            this.label = label;
            this.replicas = replicas;
            this.sampleUs = sampleUs;
            this.disturbance = disturbance;
        }
    }

    /** One router process: its registry (own counters), its picker, its periodic eviction. */
    private record Replica(WorkerRegistry registry, Picker picker, Runnable evict) {
    }

    /** The two kinds compared: the approximate tree, and the KV-event index. */
    enum Kind {
        TREE("cache_aware (tree)"),
        EXACT("cache_aware (KV-event index)");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    record Row(Situation situation, Kind kind, SimResult result) {
    }

    static List<Row> run(QualityParams p, ChatText text) {
        List<Row> rows = new ArrayList<>();
        for (Kind kind : Kind.values()) {
            for (Situation s : Situation.values()) {
                rows.add(new Row(s, kind, simulate(p, text, s, kind)));
            }
        }
        return rows;
    }

    private static SimResult simulate(QualityParams p, ChatText text, Situation s, Kind kind) {
        PolicyConfig config = PolicyConfig.defaults("cache_aware");
        AtomicLong clock = new AtomicLong();
        List<KvIndex> indexes = new ArrayList<>();
        Replica[] replicas = new Replica[s.replicas];
        List<Supplier<Replica>> factories = new ArrayList<>();
        for (int r = 0; r < s.replicas; r++) {
            KvIndex index = kind == Kind.EXACT ? new KvIndex(clock::get, KvIndex.DEFAULT_MAX_BLOCKS) : null;
            if (index != null) {
                indexes.add(index);
            }
            Supplier<Replica> factory = () -> replica(p, config, kind, index);
            factories.add(factory);
            replicas[r] = factory.get();
        }
        boolean[] alive = new boolean[s.replicas];
        java.util.Arrays.fill(alive, true);
        SplittableRandom spread = new SplittableRandom(Hashing.fmix64(p.seed() ^ 0x5E41CE));
        List<Worker> fleet = replicas[0].registry().snapshot().workers();
        java.util.function.Consumer<FleetSim> atHalf = switch (s.disturbance) {
            case NONE -> null;
            case KILL -> sim -> alive[s.replicas - 1] = false;
            case ROLL -> sim -> replicas[s.replicas - 1] = factories.get(s.replicas - 1).get();
        };
        FleetSim sim = new FleetSim(p, text, fleet, (c, key) -> {
            int r;
            do {
                r = spread.nextInt(s.replicas);
            } while (!alive[r]);
            return replicas[r].picker().pick(key, Attempt.first());
        }, () -> {
            for (Replica r : replicas) {
                r.evict().run();
            }
            indexes.forEach(KvIndex::expireSpeculation);
        }, indexes, clock, atHalf);
        if (s.sampleUs > 0) {
            sim.every(s.sampleUs, s.sampleUs, f -> {
                for (Replica r : replicas) {
                    for (Worker w : r.registry().snapshot().workers()) {
                        int reported = f.inFlight(f.indexOf(w.id()));
                        if (s == Situation.FULL_WEIGHT || s == Situation.FULL_WEIGHT_5S) {
                            w.observeQueue(reported); // what the router did before ExternalLoad's discount
                        } else {
                            w.observeQueue(reported, f.nowNanos());
                        }
                    }
                }
            });
        }
        return sim.run(kind.label);
    }

    private static Replica replica(QualityParams p, PolicyConfig config, Kind kind, KvIndex index) {
        WorkerRegistry registry = Fleet.of(p.workers());
        if (kind == Kind.TREE) {
            CacheAwarePolicy policy = new CacheAwarePolicy(config);
            return new Replica(registry, policy.newPicker(registry.snapshot(), null), policy::evict);
        }
        KvAwarePolicy policy = new KvAwarePolicy(new CacheAwarePolicy(config), index, id -> SourceState.EXACT,
                KvQuality.Variant.DEFAULT.queueTokens(), Duration.ofSeconds(5));
        return new Replica(registry, policy.newPicker(registry.snapshot(), null), () -> policy.tree().evict());
    }

    static void print(QualityParams p, List<Row> rows) {
        Table t = new Table("situation", "policy", "hit rate", "vs one router", "busy max/mean",
                "in-flight max/mean", "latency mean ms", "latency p99 ms");
        for (Row r : rows) {
            SimResult one = rows.stream().filter(x -> x.kind() == r.kind() && x.situation() == Situation.ONE)
                    .findFirst().orElseThrow().result();
            SimResult x = r.result();
            t.row(r.situation().label, x.policy(), Table.pct(x.hitRate()),
                    Table.pct(one.hitRate() == 0 ? 0 : x.hitRate() / one.hitRate()), Table.num(x.busyMaxOverMean(), 2),
                    Table.num(x.inFlightMaxOverMean(), 2), Table.num(x.meanLatencyMs(), 0),
                    Table.num(x.p99LatencyMs(), 0));
        }
        System.out.printf(Locale.ROOT, "## Router replicas behind one Service (%d workers, %,d blocks each, "
                + "%d conversations in progress, requests spread at random)%n%n", p.workers(), p.capacityBlocks(),
                p.active());
        System.out.print(t.render());
        System.out.println();
    }
}
