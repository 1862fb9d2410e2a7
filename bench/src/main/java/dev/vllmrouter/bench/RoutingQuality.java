package dev.vllmrouter.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.CacheAwarePolicy;
import dev.vllmrouter.policy.Picker;
import dev.vllmrouter.policy.Policies;
import dev.vllmrouter.policy.Policy;
import dev.vllmrouter.sim.PrefixCacheModel;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * Routing quality of every policy on a simulated fleet ({@link FleetSim}: virtual time, a prefix-cache model per
 * worker, a multi-turn chat workload sharing one system prompt), next to an oracle with perfect conversation affinity
 * ({@link OracleRouter}); once at the default concurrency and once at a low one. Then the key movement of the hashing
 * policies when a worker leaves ({@link KeyMovement}). Prints Markdown; everything is deterministic for the printed
 * parameters. Usage: {@code RoutingQuality [name=value ...]} (see {@link QualityParams}).
 */
public final class RoutingQuality {
    static final List<String> POLICIES =
            List.of("round_robin", "random", "power_of_two", "consistent_hash", "rendezvous_hash", "cache_aware");

    private RoutingQuality() {
    }

    public static void main(String[] args) {
        QualityParams p;
        try {
            p = QualityParams.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("RoutingQuality: " + e.getMessage());
            System.exit(2);
            return;
        }
        long started = System.nanoTime();
        ChatText text = new ChatText(p.seed(), p.systemChars(), p.userChars(), p.answerChars());
        printHeader(p, text);
        for (int active : new int[] {p.active(), p.lowActive()}) {
            List<SimResult> results = runAll(p.withActive(active), text);
            printResults(active, results);
            printTargets(results);
        }
        QualityParams kv = p.forKvIndex();
        KvQuality.print(kv, KvQuality.run(kv, text));
        ReplicaQuality.print(kv, ReplicaQuality.run(kv, text));
        printKeyMovement(p.seed());
        System.out.printf(Locale.ROOT, "%n(simulated in %.1f s of wall time)%n", (System.nanoTime() - started) / 1e9);
    }

    private static List<SimResult> runAll(QualityParams p, ChatText text) {
        List<SimResult> results = new ArrayList<>();
        List<Worker> oracleWorkers = Fleet.of(p.workers()).snapshot().workers();
        results.add(new FleetSim(p, text, oracleWorkers, new OracleRouter(oracleWorkers), null).run("oracle"));
        List<Worker> ruleWorkers = Fleet.of(p.workers()).snapshot().workers();
        results.add(new FleetSim(p, text, ruleWorkers, new VllmRouterRule(ruleWorkers), null)
                .run("vllm-router's rule"));
        for (String name : POLICIES) {
            WorkerRegistry registry = Fleet.of(p.workers());
            Policy policy = Policies.create(PolicyConfig.defaults(name), RandomSource.seeded(p.seed()));
            Picker picker = policy.newPicker(registry.snapshot(), null);
            Runnable tick = policy instanceof CacheAwarePolicy ca ? ca::evict : null;
            FleetSim.Router router = (conversation, key) -> picker.pick(key, Attempt.first());
            results.add(new FleetSim(p, text, registry.snapshot().workers(), router, tick).run(name));
        }
        return results;
    }

    private static void printHeader(QualityParams p, ChatText text) {
        int blockChars = p.blockSize() * 4;
        StringBuilder history = text.newHistory();
        int firstTokens = PrefixCacheModel.promptTokens(text.prompt(history, 0, 0));
        for (int t = 0; t < p.turns() - 1; t++) {
            text.appendTurn(history, 0, t);
        }
        int lastTokens = PrefixCacheModel.promptTokens(text.prompt(history, 0, p.turns() - 1));
        int systemBlocks = text.systemMessage().length() / blockChars;
        int lastBlocks = lastTokens / p.blockSize();
        double share = (double) p.active() / p.workers() * (lastBlocks - systemBlocks) + systemBlocks;
        double oracleTotal = Math.ceil((double) p.conversations() / p.workers()) * (lastBlocks - systemBlocks)
                + systemBlocks;
        System.out.println("# Routing quality on a simulated fleet (virtual time)");
        System.out.println();
        System.out.println("Parameters (reproduce with `bench/quality.sh " + p.asArgs() + "`):");
        System.out.println();
        System.out.printf(Locale.ROOT, "- fleet: %d workers, each with a prefix-cache model of %d blocks × %d tokens"
                + " = %,d tokens (%,d KiB of prompt text)%n", p.workers(), p.capacityBlocks(), p.blockSize(),
                p.capacityBlocks() * p.blockSize(), p.capacityBlocks() * blockChars / 1024);
        System.out.printf(Locale.ROOT, "- workload: %d conversations × %d turns; every prompt starts with the same "
                + "%d-char system prompt (%d full blocks); each turn adds a %d-char user message and the previous "
                + "%d-char answer; prompts grow from %,d to %,d tokens%n", p.conversations(), p.turns(),
                p.systemChars(), systemBlocks, p.userChars(), p.answerChars(), firstTokens, lastTokens);
        System.out.printf(Locale.ROOT, "- arrivals: %d conversations in progress at once (low-concurrency run: %d), "
                + "think time exponential with mean %.0f ms, seed %d%n", p.active(), p.lowActive(), p.thinkMs(),
                p.seed());
        System.out.printf(Locale.ROOT, "- service time: (%.3f ms × uncached prompt tokens + %.0f ms × %d output "
                + "tokens) × (1 + %.2f × requests already in flight on the worker); no queueing beyond that "
                + "slowdown, so latency = service time%n", p.prefillMsPerToken(), p.decodeMsPerToken(),
                p.outputTokens(), p.slowdown());
        System.out.printf(Locale.ROOT, "- cache pressure: a worker's share of the live conversations is ≈ %,.0f "
                + "blocks; with perfect affinity a worker sees ≈ %,.0f distinct blocks over the run (capacity %,d)%n",
                share, oracleTotal, p.capacityBlocks());
        System.out.println("- policies: the router's real pickers (`Policies.create(PolicyConfig.defaults(name), "
                + "RandomSource.seeded(seed))`); oracle = conversation-sticky, conversations assigned round-robin at "
                + "their first turn; vllm-router's rule = its cache_aware decision (match > 0.3 → longest-match "
                + "worker, else least loaded; imbalance 64 / 1.5) on the same tree and text");
        System.out.println();
    }

    private static void printResults(int active, List<SimResult> results) {
        double oracle = results.get(0).hitRate();
        Table t = new Table("policy", "hit rate", "vs oracle", "busy max/mean", "requests max/mean",
                "in-flight max/mean", "mean in-flight", "latency mean ms", "latency p99 ms");
        for (SimResult r : results) {
            t.row(r.policy(), Table.pct(r.hitRate()), Table.pct(oracle == 0 ? 0 : r.hitRate() / oracle),
                    Table.num(r.busyMaxOverMean(), 2), Table.num(r.requestsMaxOverMean(), 2),
                    Table.num(r.inFlightMaxOverMean(), 2), Table.num(r.meanInFlight(), 2),
                    Table.num(r.meanLatencyMs(), 0), Table.num(r.p99LatencyMs(), 0));
        }
        SimResult first = results.get(0);
        System.out.printf(Locale.ROOT, "## %d conversations in progress (%,d requests per policy, ~%.0f s virtual)%n%n",
                active, first.totalRequests(), first.endUs() / 1e6);
        System.out.print(t.render());
        System.out.println();
        System.out.println("hit rate = cached prompt tokens / prompt tokens over all workers; busy = sum of service "
                + "times per worker; in-flight max/mean = time-average of the busiest worker's in-flight count over "
                + "the time-average of the mean; mean in-flight = per worker.");
        System.out.println();
        System.out.println("Decisions (reason: count):");
        System.out.println();
        for (SimResult r : results) {
            StringBuilder sb = new StringBuilder("- ").append(r.policy()).append(": ");
            int i = 0;
            for (Map.Entry<String, Integer> e : r.reasons().entrySet()) {
                sb.append(i++ == 0 ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue());
            }
            System.out.println(sb);
        }
        System.out.println();
    }

    private static void printTargets(List<SimResult> results) {
        SimResult oracle = results.get(0);
        SimResult ca = results.get(results.size() - 1);
        System.out.printf(Locale.ROOT, "Targets (reported, not asserted): cache_aware hit rate %.1f %% of the "
                        + "oracle's (target ≥ 90 %%), busy max/mean %.2f (target ≤ 1.3).%n%n",
                100 * ca.hitRate() / oracle.hitRate(), ca.busyMaxOverMean());
    }

    private static void printKeyMovement(long seed) {
        int keys = 10_000;
        List<KeyMovement.Row> rows = KeyMovement.measure(List.of("consistent_hash", "rendezvous_hash"),
                new int[] {4, 8, 16}, keys, seed);
        Table t = new Table("policy", "workers", "keys moved", "optimum 1/N", "moved needlessly",
                "keys max/mean");
        for (KeyMovement.Row r : rows) {
            t.row(r.policy(), String.valueOf(r.workers()), Table.pct(r.moved()), Table.pct(r.optimum()),
                    Table.pct(r.needless()), Table.num(r.keysMaxOverMean(), 2));
        }
        System.out.printf(Locale.ROOT, "## Key movement when 1 worker leaves (%,d session keys, mean over each "
                + "worker leaving in turn)%n%n", keys);
        System.out.print(t.render());
        System.out.println();
        System.out.println("moved needlessly = keys whose worker stayed in the fleet but changed; keys max/mean = "
                + "spread of the keys over the full fleet.");
    }
}
