package dev.vllmrouter.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.kvevents.SourceState;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.kvindex.Medium;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

import static org.assertj.core.api.Assertions.assertThat;

class KvAwarePolicyTest {
    private static final int BS = 16;
    private final AtomicLong now = new AtomicLong(1_000);
    private final KvIndex index = new KvIndex(now::get, 100_000);
    private final Map<String, SourceState> states = new HashMap<>();
    private final WorkerRegistry registry = new WorkerRegistry(1);
    private final List<Worker> ws;
    private final Picker picker;

    KvAwarePolicyTest() {
        for (int i = 0; i < 3; i++) {
            registry.add(WorkerUrl.parse("http://w" + i + ":1"));
        }
        ws = registry.snapshot().workers();
        for (Worker w : ws) {
            states.put(w.id(), SourceState.EXACT);
            index.addSource(w.id());
        }
        KvAwarePolicy policy = new KvAwarePolicy(new CacheAwarePolicy(PolicyConfig.defaults("cache_aware")), index,
                id -> states.getOrDefault(id, SourceState.FALLBACK));
        picker = policy.newPicker(registry.snapshot(), null);
    }

    /** A prompt of {@code n} tokens: {@code seed * 100_000 + i}. */
    private static int[] prompt(int seed, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = seed * 100_000 + i;
        }
        return t;
    }

    /** Worker {@code w} stores the first {@code blocks} full blocks of {@code tokens}, as its events would say. */
    private void store(Worker w, int[] tokens, int blocks, Medium medium) {
        long[] hashes = new long[blocks];
        for (int b = 0; b < blocks; b++) {
            hashes[b] = 1_000_000L * tokens[0] + b + 1;
        }
        index.stored(w.id(), hashes, null, Arrays.copyOf(tokens, blocks * BS), BS, null, null, medium);
    }

    private static RoutingKey key(int[] tokens, String text) {
        return new RoutingKey.Fixed("/v1/chat/completions", null, text,
                tokens == null ? null : new PromptIds(tokens, null));
    }

    private Decision pick(int[] tokens) {
        return picker.pick(key(tokens, ""), Attempt.first());
    }

    @Test
    void theWorkerHoldingThePrefixWinsAndItsCachedTokensArePredictedAsVllmCountsThem() {
        int[] p = prompt(1, 10 * BS); // exactly 10 blocks
        store(ws.get(1), p, 10, Medium.GPU);
        store(ws.get(2), p, 3, Medium.GPU);

        Decision d = pick(p);
        assertThat(d.worker()).isSameAs(ws.get(1));
        assertThat(d.reason()).isEqualTo("kv_prefix");
        // a fully cached prompt still computes its last token: 9 blocks are hits
        assertThat(d.predictedCached()).isEqualTo(9 * BS);
        assertThat(d.detail()).contains("index=exact", "matched=160/160", "runner_up=http://w2:1",
                "runner_up_matched=48/160");
    }

    @Test
    void loadOutweighsTheCacheOnlyWhenTheQueuedWorkCostsMoreThanThePrefillItSaves() {
        int[] p = prompt(2, 40 * BS); // 640 tokens
        store(ws.get(0), p, 40, Medium.GPU);
        List<Lease> leases = new ArrayList<>();
        leases.add(ws.get(0).acquire()); // 1 × 256 < 640 saved: stay
        assertThat(pick(p).worker()).isSameAs(ws.get(0));
        leases.add(ws.get(0).acquire());
        leases.add(ws.get(0).acquire()); // 3 × 256 = 768 > 640: an idle worker is faster
        leases.add(ws.get(2).acquire()); // w2: 256 + 640 = 896
        Decision d = pick(p);
        assertThat(d.worker()).isSameAs(ws.get(1));
        assertThat(d.detail()).contains("runner_up=http://w0:1", "runner_up_cost=768", "cost=640");
        assertThat(d.reason()).isEqualTo("kv_load");
        leases.forEach(Lease::close);
    }

    @Test
    void aLoraAdaptersBlocksMatchOnlyRequestsForThatAdapter() {
        int[] p = prompt(9, 12 * BS);
        long[] hashes = new long[12];
        for (int b = 0; b < 12; b++) {
            hashes[b] = 9_000_000L + b;
        }
        // worker 2's engine ran the prompt under adapter "sql-lora": its events carry the adapter's name
        index.stored(ws.get(2).id(), hashes, null, p, BS, "sql-lora", null, Medium.GPU);
        Decision lora = picker.pick(new RoutingKey.Fixed("/v1/chat/completions", "sql-lora", "",
                new PromptIds(p, null, "sql-lora")), Attempt.first());
        assertThat(lora.worker()).isSameAs(ws.get(2));
        assertThat(lora.reason()).isEqualTo("kv_prefix");
        assertThat(lora.predictedCached()).isEqualTo(11 * BS);
        // the base model's request shares no block with it, nor does another adapter's
        for (PromptIds other : List.of(new PromptIds(p, null), new PromptIds(p, null, "chat-lora"))) {
            Decision d = picker.pick(new RoutingKey.Fixed("/v1/chat/completions", null, "", other),
                    Attempt.first());
            assertThat(d.detail()).contains("matched=0/" + 12 * BS);
        }
    }

    @Test
    void cpuTierTokensAreCreditedAtADiscountAndNotPredictedAsGpuHits() {
        int[] p = prompt(3, 20 * BS + 5);
        store(ws.get(0), p, 20, Medium.CPU);
        store(ws.get(1), p, 8, Medium.GPU);
        Decision d = pick(p);
        // w0: 325 − 320 + 0.25 × 320 = 85; w1: 325 − 128 = 197
        assertThat(d.worker()).isSameAs(ws.get(0));
        assertThat(d.predictedCached()).isZero();
        assertThat(d.detail()).contains("cost=85", "runner_up_cost=197");
    }

    @Test
    void newPromptsSpreadOverEquallyLoadedWorkersAndABurstFollowsItsSpeculation() {
        Set<Worker> chosen = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            Decision d = pick(prompt(10 + i, 8 * BS));
            chosen.add(d.worker());
            assertThat(d.reason()).isEqualTo("kv_spread");
        }
        assertThat(chosen).hasSize(3);
        // the same new prompt twice in a row: the second follows the first before any event came
        int[] burst = prompt(20, 8 * BS);
        Decision first = pick(burst);
        Decision second = pick(burst);
        assertThat(second.worker()).isSameAs(first.worker());
        assertThat(second.predictedCached()).as("a speculative match is not checked against the answer").isEqualTo(-1);
        now.addAndGet(KvAwarePolicy.SPECULATION_TTL.toNanos() + 1);
        assertThat(pick(burst).reason()).as("the guess expired").isEqualTo("kv_spread");
    }

    @Test
    void aFallbackWorkerIsScoredWithTheTreeAndNotPredicted() {
        int[] p = prompt(4, 8 * BS);
        String text = "x".repeat(2000);
        states.put(ws.get(2).id(), SourceState.FALLBACK);
        Decision first = picker.pick(key(p, text), Attempt.first());
        // the tree learned it for whichever worker; make sure it is w2 by routing it there once more if needed
        Worker home = first.worker();
        for (Worker w : ws) {
            states.put(w.id(), SourceState.FALLBACK); // every worker: events stopped
        }
        Decision d = picker.pick(key(p, text), Attempt.first());
        assertThat(d.worker()).isSameAs(home);
        assertThat(d.predictedCached()).isEqualTo(-1);
        assertThat(d.detail()).contains("index=fallback", "matched=128/128");
    }

    @Test
    void withoutTokenIdsTheTreePolicyDecides() {
        Decision d = picker.pick(key(null, "hello there"), Attempt.first());
        assertThat(d.reason()).isIn("new_prefix", "load_balance", "no_prompt", "shared_prefix_spread");
        assertThat(d.predictedCached()).isEqualTo(-1);
    }

    @Test
    void triedWorkersAreNeverReturned() {
        int[] p = prompt(5, 4 * BS);
        store(ws.get(1), p, 4, Medium.GPU);
        Decision d = picker.pick(key(p, ""), Attempt.first().next(ws.get(1)));
        assertThat(d.worker()).isNotSameAs(ws.get(1));
        Attempt none = Attempt.first().next(ws.get(0)).next(ws.get(1)).next(ws.get(2));
        assertThat(picker.pick(key(p, ""), none)).isNull();
    }

    @Test
    void aLaterTurnSpeculatesOnlyTheBlocksItsWorkersEventsDoNotHoldYet() {
        int[] turn = prompt(8, 12 * BS);
        store(ws.get(1), turn, 10, Medium.GPU); // the history, by events
        Decision d = pick(turn);
        assertThat(d.worker()).isSameAs(ws.get(1));
        assertThat(index.stats().speculative()).as("the two new blocks, not the whole prompt").isEqualTo(2);
        // the next request of the burst matches all 12 blocks on w1 before w1's events come
        assertThat(index.lookup(turn, BS, null, null).get(ws.get(1).id()).tokens()).isEqualTo(12 * BS);
    }

    @Test
    void theMeasurementConstructorSetsTheLoadWeightAndCanTurnSpeculationOff() {
        KvAwarePolicy tuned = new KvAwarePolicy(new CacheAwarePolicy(PolicyConfig.defaults("cache_aware")), index,
                id -> SourceState.EXACT, 100, java.time.Duration.ZERO);
        Picker p = tuned.newPicker(registry.snapshot(), null);
        int[] prompt = prompt(6, 4 * BS); // 64 tokens
        store(ws.get(0), prompt, 4, Medium.GPU);
        List<Lease> leases = List.of(ws.get(0).acquire(), ws.get(1).acquire(), ws.get(2).acquire());
        // w0: 100 × 1 + 0 = 100; w1, w2: 100 × 1 + 64 = 164
        Decision d = p.pick(key(prompt, ""), Attempt.first());
        leases.forEach(Lease::close);
        assertThat(d.worker()).isSameAs(ws.get(0));
        assertThat(d.detail()).contains("cost=100", "runner_up_cost=164");
        assertThat(index.stats().speculative()).isZero();
        int[] fresh = prompt(7, 4 * BS);
        Decision first = p.pick(key(fresh, ""), Attempt.first());
        assertThat(first.reason()).isEqualTo("kv_spread");
        assertThat(index.stats().speculative()).as("no speculative entries with a zero TTL").isZero();
        assertThat(picker.pick(key(fresh, ""), Attempt.first()).worker()).isNotNull();
        assertThat(index.stats().speculative()).as("the default policy speculates").isPositive();
    }
}
