package dev.vllmrouter.policy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;
import dev.vllmrouter.worker.WorkerSnapshot;

import static org.assertj.core.api.Assertions.assertThat;

class PickersTest {
    private static final RoutingKey KEY = RoutingKey.of("/v1/completions", null);

    private static WorkerRegistry registry(int n) {
        WorkerRegistry r = new WorkerRegistry(1);
        for (int i = 0; i < n; i++) {
            r.add(WorkerUrl.parse("http://w" + i + ":8000"));
        }
        return r;
    }

    @Test
    void roundRobinVisitsEveryWorkerOncePerCycle() {
        WorkerRegistry r = registry(3);
        Picker p = new RoundRobinPolicy().newPicker(r.snapshot(), null);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            counts.merge(p.pick(KEY, Attempt.first()).worker().id(), 1, Integer::sum);
        }
        assertThat(counts).hasSize(3).allSatisfy((id, c) -> assertThat(c).isEqualTo(10));
    }

    @Test
    void roundRobinCounterSurvivesSnapshotChange() {
        WorkerRegistry r = registry(2);
        RoundRobinPolicy policy = new RoundRobinPolicy();
        Picker first = policy.newPicker(r.snapshot(), null);
        String a = first.pick(KEY, Attempt.first()).worker().id();
        r.add(WorkerUrl.parse("http://w2:8000"));
        Picker second = policy.newPicker(r.snapshot(), first);
        // the counter moved on: the next pick is the worker after `a`, not the first one again
        assertThat(a).isEqualTo("http://w0:8000");
        assertThat(second.pick(KEY, Attempt.first()).worker().id()).isEqualTo("http://w1:8000");
    }

    @Test
    void triedWorkersAreNeverPickedAgain() {
        WorkerRegistry r = registry(3);
        for (Policy policy : List.of(new RoundRobinPolicy(), new RandomPolicy(RandomSource.seeded(7)))) {
            Picker p = policy.newPicker(r.snapshot(), null);
            Attempt attempt = Attempt.first();
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (int i = 0; i < 3; i++) {
                Worker w = p.pick(KEY, attempt).worker();
                assertThat(seen.add(w.id())).as(policy.name() + " repeated " + w).isTrue();
                attempt = attempt.next(w);
            }
            assertThat(p.pick(KEY, attempt)).as(policy.name()).isNull();
        }
    }

    @Test
    void emptySnapshotPicksNothing() {
        assertThat(new RoundRobinPolicy().newPicker(WorkerSnapshot.EMPTY, null).pick(KEY, Attempt.first())).isNull();
        assertThat(new RandomPolicy(RandomSource.seeded(1)).newPicker(WorkerSnapshot.EMPTY, null)
                .pick(KEY, Attempt.first())).isNull();
    }

    @Test
    void randomSpreadsOverAllWorkers() {
        WorkerRegistry r = registry(4);
        Picker p = new RandomPolicy(RandomSource.seeded(42)).newPicker(r.snapshot(), null);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 4000; i++) {
            counts.merge(p.pick(KEY, Attempt.first()).worker().id(), 1, Integer::sum);
        }
        // seeded: deterministic; each share within 15% of 1000
        assertThat(counts).hasSize(4).allSatisfy((id, c) -> assertThat(c).isBetween(850, 1150));
    }

    @Test
    void runtimeRebuildsOncePerSnapshotVersionUnderRace() throws Exception {
        WorkerRegistry r = registry(2);
        java.util.concurrent.atomic.AtomicInteger builds = new java.util.concurrent.atomic.AtomicInteger();
        Policy counting = new Policy() {
            final RoundRobinPolicy inner = new RoundRobinPolicy();

            @Override
            public String name() {
                return "counting";
            }

            @Override
            public Picker newPicker(WorkerSnapshot snapshot, Picker previous) {
                builds.incrementAndGet();
                return inner.newPicker(snapshot, previous);
            }
        };
        PolicyRuntime runtime = new PolicyRuntime(counting, r::snapshot);
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 64; t++) {
                ex.submit(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 100; i++) {
                            assertThat(runtime.pick(KEY, Attempt.first())).isNotNull();
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                });
            }
            go.countDown();
        }
        assertThat(failure.get()).as("a racing pick failed").isNull();
        assertThat(builds.get()).as("pickers built for one snapshot by racing requests").isEqualTo(1);
        r.add(WorkerUrl.parse("http://w9:8000"));
        runtime.pick(KEY, Attempt.first());
        assertThat(builds.get()).isEqualTo(2);
    }

    @Test
    void dataParallelExpansionMakesRanks() {
        WorkerRegistry r = new WorkerRegistry(4);
        List<Worker> added = r.add(WorkerUrl.parse("http://h:8000"));
        assertThat(added).extracting(Worker::id)
                .containsExactly("http://h:8000@0", "http://h:8000@1", "http://h:8000@2", "http://h:8000@3");
        assertThat(added).allSatisfy(w -> assertThat(w.baseUrl()).isEqualTo("http://h:8000"));
        assertThat(r.add(WorkerUrl.parse("http://h:8000"))).isEmpty();
        // a pinned rank is kept as given
        assertThat(r.add(WorkerUrl.parse("http://g:8000@5"))).extracting(Worker::id)
                .containsExactly("http://g:8000@5");
        // removing the plain URL removes every rank
        assertThat(r.remove("http://h:8000")).hasSize(4);
        assertThat(r.snapshot().workers()).extracting(Worker::id).containsExactly("http://g:8000@5");
    }
}
