package dev.vllmrouter.fault;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.fault.CircuitBreaker.Permit;
import dev.vllmrouter.fault.CircuitBreaker.State;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Races on one breaker: virtual threads parked on one latch and released together. Guards the CAS loops in
 * {@link CircuitBreaker}: a lost update would admit too many trials, and a transition notified by a thread whose CAS
 * failed would show up as a duplicate or impossible transition.
 */
class CircuitBreakerRaceTest {
    private static final long SECOND = 1_000_000_000L;
    private static final Set<String> VALID_EDGES = Set.of("CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->OPEN",
            "HALF_OPEN->CLOSED");

    private final AtomicLong clock = new AtomicLong();
    private final Queue<String> transitions = new ConcurrentLinkedQueue<>();

    private CircuitBreaker breaker(CircuitBreakerConfig config) {
        return new CircuitBreaker(config, clock::get, (from, to) -> transitions.add(from + "->" + to));
    }

    private static void race(int threads, Runnable body) throws InterruptedException {
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> started = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            started.add(Thread.ofVirtual().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                body.run();
            }));
        }
        start.countDown();
        for (Thread t : started) {
            assertThat(t.join(Duration.ofSeconds(30))).as("race thread finished").isTrue();
        }
    }

    @Test
    void manyThreadsReachingTheThresholdTogetherOpenItOnce() throws InterruptedException {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        race(200, cb::onFailure);
        assertThat(cb.state()).as("race: 200 concurrent failures vs threshold 10").isEqualTo(State.OPEN);
        assertThat(transitions).as("race: only the CAS winner announces CLOSED->OPEN").containsExactly("CLOSED->OPEN");
    }

    @Test
    void manyThreadsArrivingWhenTheOpenTimeEndsGetExactlyTheTrialPermits() throws InterruptedException {
        CircuitBreakerConfig d = CircuitBreakerConfig.defaults();
        CircuitBreaker cb = breaker(new CircuitBreakerConfig(d.failureThreshold(), d.successThreshold(),
                d.openDuration(), d.window(), 4, false));
        for (int i = 0; i < 10; i++) {
            cb.onFailure();
        }
        clock.addAndGet(60 * SECOND);
        AtomicInteger admitted = new AtomicInteger();
        race(200, () -> {
            if (cb.tryAcquire()) {
                admitted.incrementAndGet();
            }
        });
        assertThat(admitted).as("race: 200 tryAcquire at the end of the open time, 4 trial permits").hasValue(4);
        assertThat(transitions).as("race: one thread announces OPEN->HALF_OPEN")
                .containsExactly("CLOSED->OPEN", "OPEN->HALF_OPEN");
    }

    @Test
    void mixedTrafficNeverExceedsTheTrialLimitAndTransitionsFormOnePath() throws InterruptedException {
        int trials = 2;
        CircuitBreaker cb = breaker(new CircuitBreakerConfig(5, 3, Duration.ofSeconds(10), Duration.ofSeconds(60),
                trials, false));
        Map<Long, AtomicInteger> outstandingTrials = new ConcurrentHashMap<>();
        AtomicInteger maxOutstanding = new AtomicInteger();
        AtomicInteger trialsSeen = new AtomicInteger();
        AtomicLong seeds = new AtomicLong(7);
        race(64, () -> {
            RandomSource rnd = RandomSource.seeded(seeds.getAndIncrement());
            for (int i = 0; i < 2_000; i++) {
                if (rnd.nextInt(20) == 0) {
                    clock.addAndGet(3 * SECOND);
                }
                Permit p = cb.acquire();
                if (p == null) {
                    continue;
                }
                AtomicInteger out = null;
                if (p.isTrial()) {
                    trialsSeen.incrementAndGet();
                    out = outstandingTrials.computeIfAbsent(p.generation(), g -> new AtomicInteger());
                    maxOutstanding.accumulateAndGet(out.incrementAndGet(), Math::max);
                }
                Thread.yield();
                if (out != null) {
                    out.decrementAndGet(); // before the outcome, which frees the permit for another thread
                }
                switch (rnd.nextInt(10)) {
                    case 0, 1, 2, 3 -> cb.onFailure(p);
                    case 4 -> cb.release(p);
                    default -> cb.onSuccess(p);
                }
            }
        });
        State last = cb.state();
        assertThat(trialsSeen.get()).as("the race reached half-open").isPositive();
        assertThat(maxOutstanding.get()).as("race: concurrent acquire in half-open admitted more than %d trials", trials)
                .isLessThanOrEqualTo(trials);
        assertThat(transitions).as("race: every announced transition is a legal edge").allMatch(VALID_EDGES::contains);
        Map<State, Integer> balance = new EnumMap<>(State.class);
        for (String t : transitions) {
            String[] fromTo = t.split("->");
            balance.merge(State.valueOf(fromTo[0]), 1, Integer::sum);
            balance.merge(State.valueOf(fromTo[1]), -1, Integer::sum);
        }
        Map<State, Integer> expected = new EnumMap<>(State.class);
        for (State s : State.values()) {
            expected.put(s, (s == State.CLOSED ? 1 : 0) - (s == last ? 1 : 0));
        }
        for (State s : State.values()) {
            assertThat(balance.getOrDefault(s, 0))
                    .as("race: transitions out of minus into %s must chain CLOSED to the final %s (seen %s)",
                            s, last, transitions.size())
                    .isEqualTo(expected.get(s));
        }
    }
}
