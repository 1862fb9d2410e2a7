package dev.vllmrouter.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

import static org.assertj.core.api.Assertions.assertThat;

class CacheAwarePolicyTest {
    private static final String SYSTEM = "<|system|>\n" + "You are a careful assistant. ".repeat(60) + "\n";

    private static WorkerRegistry registry(int n) {
        WorkerRegistry r = new WorkerRegistry(1);
        for (int i = 0; i < n; i++) {
            r.add(WorkerUrl.parse("http://w" + i + ":1"));
        }
        return r;
    }

    private static String turn(int conversation, int turns) {
        StringBuilder sb = new StringBuilder(SYSTEM);
        for (int t = 0; t < turns; t++) {
            sb.append("<|user|>\nconversation ").append(conversation).append(" asks question ").append(t)
                    .append(" about ").append("details ".repeat(40)).append('\n');
            if (t + 1 < turns) {
                sb.append("<|assistant|>\nanswer ").append(t).append(" for ").append(conversation).append('\n');
            }
        }
        return sb.toString();
    }

    private static Decision pick(Picker p, String text) {
        return p.pick(Keys.prompt(text), Attempt.first());
    }

    @Test
    void laterTurnsFollowTheirConversationAndNewOnesSpreadAtZeroLoad() {
        WorkerRegistry r = registry(4);
        CacheAwarePolicy policy = new CacheAwarePolicy(PolicyConfig.defaults("cache_aware"));
        Picker p = policy.newPicker(r.snapshot(), null);
        Map<Integer, Worker> home = new HashMap<>();
        Map<Worker, Integer> newPerWorker = new HashMap<>();
        for (int c = 0; c < 20; c++) {
            Decision d = pick(p, turn(c, 1));
            home.put(c, d.worker());
            newPerWorker.merge(d.worker(), 1, Integer::sum);
            assertThat(d.reason()).as("conversation %d's first turn", c).isNotEqualTo("prefix_match");
        }
        // every conversation shares a 1.7 KB system prompt; still none of the workers gets more than its share
        assertThat(newPerWorker).hasSize(4).allSatisfy((w, n) -> assertThat(n).isEqualTo(5));
        for (int t = 2; t <= 4; t++) {
            for (int c = 0; c < 20; c++) {
                Decision d = pick(p, turn(c, t));
                assertThat(d.worker()).as("conversation %d turn %d", c, t).isSameAs(home.get(c));
                assertThat(d.reason()).isEqualTo("prefix_match");
                assertThat(d.match()).isGreaterThan(0.5);
            }
        }
    }

    @Test
    void imbalanceGuardSwitchesAtTheExactThresholds() {
        WorkerRegistry r = registry(2);
        List<Worker> ws = r.snapshot().workers();
        CacheAwarePolicy policy = new CacheAwarePolicy(PolicyConfig.defaults("cache_aware")); // abs 64, rel 1.5
        Picker p = policy.newPicker(r.snapshot(), null);
        String text = turn(1, 3);
        // make w0 the owner of the conversation
        ws.get(0).observeQueue(0);
        ws.get(1).observeQueue(1);
        assertThat(pick(p, text).worker()).isSameAs(ws.get(0));

        ws.get(0).observeQueue(74); // max - min = 64: not more than 64
        ws.get(1).observeQueue(10);
        assertThat(pick(p, text).reason()).isNotEqualTo("load_balance");
        ws.get(0).observeQueue(75); // 65 > 64 and 75 > 10 * 1.5
        assertThat(pick(p, text)).satisfies(d -> {
            assertThat(d.reason()).isEqualTo("load_balance");
            assertThat(d.worker()).isSameAs(ws.get(1));
        });
        ws.get(0).observeQueue(300); // 100 > 64 but 300 == 200 * 1.5: not imbalanced
        ws.get(1).observeQueue(200);
        assertThat(pick(p, text).reason()).isNotEqualTo("load_balance");
        ws.get(0).observeQueue(301);
        assertThat(pick(p, text).reason()).isEqualTo("load_balance");
    }

    @Test
    void aBusyOwnerYieldsWhenItsLoadOutweighsTheSavedPrefill() {
        WorkerRegistry r = registry(2);
        List<Worker> ws = r.snapshot().workers();
        CacheAwarePolicy policy = new CacheAwarePolicy(PolicyConfig.defaults("cache_aware"));
        Picker p = policy.newPicker(r.snapshot(), null);
        // two conversations so the system prompt is a branch point and only the history is distinctive
        ws.get(1).observeQueue(1);
        pick(p, turn(1, 1));
        ws.get(1).observeQueue(0);
        ws.get(0).observeQueue(1);
        pick(p, turn(2, 1));
        ws.get(0).observeQueue(0);
        String next = turn(1, 2);
        Worker owner = pick(p, next).worker();
        Worker other = owner == ws.get(0) ? ws.get(1) : ws.get(0);
        var match = policy.tree(null).match(next);
        int distinct = match.matchedChars(owner.id()) - match.sharedChars();
        int tolerated = distinct / CacheAwarePolicy.CHARS_PER_QUEUED_REQUEST;
        assertThat(tolerated).as("the history is worth some queued requests").isBetween(1, 10);
        owner.observeQueue(tolerated);
        assertThat(pick(p, next).worker()).isSameAs(owner);
        owner.observeQueue(tolerated + 1);
        Decision d = pick(p, next);
        assertThat(d.worker()).isSameAs(other);
        assertThat(d.reason()).isEqualTo("owner_busy");
    }

    @Test
    void workersLeavingArePrunedFromTheTrees() {
        WorkerRegistry r = registry(3);
        CacheAwarePolicy policy = new CacheAwarePolicy(PolicyConfig.defaults("cache_aware"));
        Picker p = policy.newPicker(r.snapshot(), null);
        for (int c = 0; c < 9; c++) {
            pick(p, turn(c, 1));
        }
        assertThat(policy.tree(null).tenants()).hasSize(3);
        r.remove("http://w1:1");
        Picker after = policy.newPicker(r.snapshot(), p);
        assertThat(policy.tree(null).tenants()).containsExactlyInAnyOrder("http://w0:1", "http://w2:1");
        for (int c = 0; c < 9; c++) {
            assertThat(pick(after, turn(c, 2)).worker().id()).isNotEqualTo("http://w1:1");
        }
    }

    @Test
    void evictionKeepsEachWorkerWithinTheBudget() {
        WorkerRegistry r = registry(2);
        PolicyConfig small = new PolicyConfig("cache_aware", 0.3, 64, 1.5, java.time.Duration.ofSeconds(1), 5_000);
        CacheAwarePolicy policy = new CacheAwarePolicy(small);
        Picker p = policy.newPicker(r.snapshot(), null);
        for (int c = 0; c < 50; c++) {
            pick(p, turn(c, 2));
        }
        policy.evict();
        for (Worker w : r.snapshot().workers()) {
            assertThat(policy.tree(null).chars(w.id())).isLessThanOrEqualTo(5_000);
        }
    }

    @Test
    void concurrentPicksAndInsertsStayConsistent() throws Exception {
        WorkerRegistry r = registry(8);
        CacheAwarePolicy policy = new CacheAwarePolicy(PolicyConfig.defaults("cache_aware"));
        Picker p = policy.newPicker(r.snapshot(), null);
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Worker> all = r.snapshot().workers();
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 32; t++) {
                int seed = t;
                ex.submit(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 300; i++) {
                            Decision d = pick(p, turn((seed * 31 + i) % 40, 1 + i % 4));
                            assertThat(all).as("race: a pick returned a worker outside the snapshot")
                                    .contains(d.worker());
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                });
            }
            go.countDown();
        }
        assertThat(failure.get()).as("race between concurrent picks and tree inserts").isNull();
        List<String> tenants = new ArrayList<>(policy.tree(null).tenants());
        assertThat(tenants).hasSizeLessThanOrEqualTo(8);
    }
}
