package dev.vllmrouter.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;
import dev.vllmrouter.worker.WorkerSnapshot;

import static org.assertj.core.api.Assertions.assertThat;

/** consistent_hash and rendezvous_hash: stickiness, spread, minimal remapping, key priority, fall-through. */
class HashingPoliciesTest {
    private static WorkerRegistry registry(int n) {
        WorkerRegistry r = new WorkerRegistry(1);
        for (int i = 0; i < n; i++) {
            r.add(WorkerUrl.parse("http://10.0.0." + i + ":8000"));
        }
        return r;
    }

    private static List<Policy> hashing() {
        return List.of(new ConsistentHashPolicy(RandomSource.seeded(1)), new RendezvousHashPolicy(RandomSource.seeded(1)));
    }

    private static String owner(Picker p, RoutingKey key) {
        return p.pick(key, Attempt.first()).worker().id();
    }

    @Test
    void sameKeySameWorkerAndKeysSpread() {
        WorkerRegistry r = registry(4);
        for (Policy policy : hashing()) {
            Picker p = policy.newPicker(r.snapshot(), null);
            Map<String, Integer> share = new HashMap<>();
            for (int k = 0; k < 4000; k++) {
                String first = owner(p, Keys.session("session:s" + k));
                assertThat(owner(p, Keys.session("session:s" + k))).as(policy.name()).isEqualTo(first);
                share.merge(first, 1, Integer::sum);
            }
            assertThat(share).as(policy.name() + " spread").hasSize(4)
                    .allSatisfy((w, c) -> assertThat(c).isBetween(700, 1300));
        }
    }

    @Test
    void aWorkerLeavingMovesOnlyItsOwnKeys() {
        for (Policy policy : hashing()) {
            WorkerRegistry r = registry(8);
            Picker before = policy.newPicker(r.snapshot(), null);
            Map<String, String> owners = new HashMap<>();
            for (int k = 0; k < 8000; k++) {
                owners.put("session:" + k, owner(before, Keys.session("session:" + k)));
            }
            String leaving = "http://10.0.0.3:8000";
            r.remove(leaving);
            Picker after = policy.newPicker(r.snapshot(), before);
            int moved = 0;
            for (Map.Entry<String, String> e : owners.entrySet()) {
                String now = owner(after, Keys.session(e.getKey()));
                if (!now.equals(e.getValue())) {
                    moved++;
                    assertThat(e.getValue()).as(policy.name() + ": only the leaving worker's keys move")
                            .isEqualTo(leaving);
                }
            }
            // the optimum is 1/8 = 12.5 % of the keys
            assertThat(moved).as(policy.name()).isBetween(700, 1300);
        }
    }

    @Test
    void anUnusableOwnerYieldsToTheNextDistinctWorkerNotTheFirst() {
        WorkerRegistry r = registry(6);
        for (Policy policy : hashing()) {
            Picker p = policy.newPicker(r.snapshot(), null);
            Map<String, Integer> fallbacks = new HashMap<>();
            for (int k = 0; k < 600; k++) {
                RoutingKey key = Keys.session("session:" + k);
                Decision first = p.pick(key, Attempt.first());
                Decision next = p.pick(key, Attempt.first().next(first.worker()));
                assertThat(next.worker()).isNotSameAs(first.worker());
                assertThat(p.pick(key, Attempt.first().next(first.worker())).worker()).as("deterministic")
                        .isSameAs(next.worker());
                fallbacks.merge(next.worker().id(), 1, Integer::sum);
            }
            assertThat(fallbacks).as(policy.name() + ": fall-through spreads instead of piling on one worker")
                    .hasSize(6);
        }
    }

    @Test
    void ringFallThroughVisitsEveryWorkerOnce() {
        WorkerRegistry r = registry(5);
        Picker p = new ConsistentHashPolicy(RandomSource.seeded(1)).newPicker(r.snapshot(), null);
        Attempt attempt = Attempt.first();
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Decision d = p.pick(Keys.session("session:x"), attempt);
            order.add(d.worker().id());
            assertThat(d.reason()).isEqualTo(i == 0 ? "body_key" : "body_key_next");
            attempt = attempt.next(d.worker());
        }
        assertThat(order).doesNotHaveDuplicates().hasSize(5);
        assertThat(p.pick(Keys.session("session:x"), attempt)).isNull();
    }

    @Test
    void headersComeBeforeBodyKeysAndConversationsStickAcrossTurns() {
        WorkerRegistry r = registry(8);
        for (Policy policy : hashing()) {
            Picker p = policy.newPicker(r.snapshot(), null);
            Keys withBoth = new Keys("/v1/chat/completions", null, Map.of("x-session-id", "abc"), "user:bob", null, "");
            assertThat(p.pick(withBoth, Attempt.first()).reason()).isEqualTo("x-session-id");
            assertThat(owner(p, withBoth)).isEqualTo(owner(p, Keys.header("x-session-id", "abc")));
            // one conversation, three turns: same leading messages, growing text
            String lead = "<|system|>\nbe brief\n<|user|>\nhello\n";
            String w1 = owner(p, Keys.conversation(lead, lead));
            String w2 = owner(p, Keys.conversation(lead, lead + "<|assistant|>\nhi\n<|user|>\nmore\n"));
            assertThat(w2).as(policy.name() + ": turn 2 follows turn 1").isEqualTo(w1);
            // different conversations spread
            Map<String, Integer> spread = new HashMap<>();
            for (int c = 0; c < 800; c++) {
                String l = "<|system|>\nbe brief\n<|user|>\nquestion " + c + "\n";
                spread.merge(owner(p, Keys.conversation(l, l)), 1, Integer::sum);
            }
            assertThat(spread).as(policy.name()).hasSize(8);
        }
    }

    @Test
    void requestsWithoutAnyKeyAreSpread() {
        WorkerRegistry r = registry(4);
        Picker p = new ConsistentHashPolicy(RandomSource.seeded(3)).newPicker(r.snapshot(), null);
        Map<String, Integer> spread = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            Decision d = p.pick(Keys.model(null), Attempt.first());
            assertThat(d.reason()).isEqualTo("no_key");
            spread.merge(d.worker().id(), 1, Integer::sum);
        }
        assertThat(spread).hasSize(4);
    }

    @Test
    void onlyWorkersServingTheModelAreChosen() {
        WorkerRegistry r = new WorkerRegistry(1);
        r.add(WorkerUrl.parse("http://a:1"), java.util.Set.of("llama"));
        r.add(WorkerUrl.parse("http://b:1"), java.util.Set.of("qwen"));
        r.add(WorkerUrl.parse("http://c:1"), java.util.Set.of("llama", "qwen"));
        WorkerSnapshot s = r.snapshot();
        assertThat(s.mayServe("mistral")).isFalse();
        for (Policy policy : List.of(new ConsistentHashPolicy(RandomSource.seeded(1)),
                new RendezvousHashPolicy(RandomSource.seeded(1)), new RoundRobinPolicy(),
                new RandomPolicy(RandomSource.seeded(1)), new PowerOfTwoPolicy(RandomSource.seeded(1)))) {
            Picker p = policy.newPicker(s, null);
            for (int k = 0; k < 200; k++) {
                Keys key = new Keys("/v1/completions", "qwen", Map.of(), "session:" + k, null, "");
                Worker w = p.pick(key, Attempt.first()).worker();
                assertThat(w.id()).as(policy.name()).isIn("http://b:1", "http://c:1");
            }
        }
    }
}
