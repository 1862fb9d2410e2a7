package dev.vllmrouter.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

import static org.assertj.core.api.Assertions.assertThat;

class PowerOfTwoPolicyTest {
    @Test
    void neverPicksTheMoreLoadedOfItsTwoDraws() {
        WorkerRegistry r = new WorkerRegistry(1);
        for (int i = 0; i < 3; i++) {
            r.add(WorkerUrl.parse("http://w" + i + ":1"));
        }
        List<Worker> ws = r.snapshot().workers();
        List<Lease> leases = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            leases.add(ws.get(0).acquire()); // w0: 10 in flight
        }
        ws.get(1).observeQueue(5); // w1: 5 queued by others
        Picker p = new PowerOfTwoPolicy(RandomSource.seeded(9)).newPicker(r.snapshot(), null);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            counts.merge(p.pick(Keys.model(null), Attempt.first()).worker().id(), 1, Integer::sum);
        }
        // w0 always loses; w1 loses to w2 and beats only w0: w2 wins 2/3 of draws, w1 1/3
        assertThat(counts.get("http://w0:1")).isNull();
        assertThat(counts.get("http://w2:1")).isBetween(1800, 2200);
        assertThat(counts.get("http://w1:1")).isBetween(800, 1200);
        leases.forEach(Lease::close);
        assertThat(ws.get(0).load()).isZero();
    }

    @Test
    void oneCandidateIsReturnedAndTriedOnesAreSkipped() {
        WorkerRegistry r = new WorkerRegistry(1);
        r.add(WorkerUrl.parse("http://a:1"));
        r.add(WorkerUrl.parse("http://b:1"));
        Picker p = new PowerOfTwoPolicy(RandomSource.seeded(1)).newPicker(r.snapshot(), null);
        Decision first = p.pick(Keys.model(null), Attempt.first());
        Decision second = p.pick(Keys.model(null), Attempt.first().next(first.worker()));
        assertThat(second.worker()).isNotSameAs(first.worker());
        assertThat(second.reason()).isEqualTo("only_worker");
        assertThat(p.pick(Keys.model(null), Attempt.first().next(first.worker()).next(second.worker()))).isNull();
    }

    @Test
    void externalLoadIsWhatExceedsTheRoutersOwnInFlight() {
        Worker w = new Worker(WorkerUrl.parse("http://a:1"));
        Lease l1 = w.acquire();
        Lease l2 = w.acquire();
        w.observeQueue(5); // the worker reports 5, two of them are ours
        assertThat(w.externalLoad()).isEqualTo(3);
        assertThat(w.load()).isEqualTo(5);
        l1.close();
        l2.close();
        assertThat(w.load()).isEqualTo(3);
        w.observeQueue(0);
        assertThat(w.load()).isZero();
    }
}
