package dev.vllmrouter.admission;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.admission.AdmissionGate.Permit;
import dev.vllmrouter.admission.AdmissionGate.Refusal;
import dev.vllmrouter.admission.AdmissionGate.RefusedException;
import dev.vllmrouter.common.Ticker;

class AdmissionGateTest {
    private static final Function<Runnable, AutoCloseable> NO_WATCH = r -> () -> { };

    @Test
    void admitsUpToTheLimitAndAPermitFreesItsSlotOnce() {
        AdmissionGate gate = new AdmissionGate(2, 0, Duration.ofSeconds(1), Ticker.system());
        Permit a = gate.enter(NO_WATCH);
        Permit b = gate.enter(NO_WATCH);
        assertEquals(2, gate.inFlight());
        RefusedException full = assertThrows(RefusedException.class, () -> gate.enter(NO_WATCH));
        assertEquals(Refusal.QUEUE_FULL, full.refusal());
        assertTrue(full.retryAfterSeconds() >= 1);
        a.close();
        a.close();
        assertEquals(1, gate.inFlight(), "closing a permit twice frees one slot");
        b.close();
        assertEquals(0, gate.inFlight());
    }

    @Test
    void aFreedSlotGoesToTheOldestWaiterInArrivalOrder() throws Exception {
        AdmissionGate gate = new AdmissionGate(1, 10, Duration.ofMinutes(5), Ticker.system());
        Permit held = gate.enter(NO_WATCH);
        List<Integer> order = new CopyOnWriteArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 3; i++) {
                int id = i;
                pool.submit(() -> {
                    try (Permit p = gate.enter(NO_WATCH)) {
                        order.add(id);
                    }
                    return null;
                });
                int queued = i + 1;
                await().until(() -> gate.queued() == queued);
            }
            held.close();
        }
        assertEquals(List.of(0, 1, 2), order);
        assertEquals(0, gate.inFlight());
        assertEquals(0, gate.queued());
    }

    @Test
    void aFreedSlotIsHandedToTheWaiterNeverLeftFree() throws Exception {
        AdmissionGate gate = new AdmissionGate(1, 1, Duration.ofMinutes(5), Ticker.system());
        Permit held = gate.enter(NO_WATCH);
        CountDownLatch waiterIn = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            try {
                Future<?> waiter = pool.submit(() -> {
                    try (Permit p = gate.enter(NO_WATCH)) {
                        waiterIn.countDown();
                        letGo.await();
                    }
                    return null;
                });
                await().until(() -> gate.queued() == 1);
                held.close();
                // the slot went to the waiter under the same lock: at no moment was it free for a newcomer
                assertEquals(1, gate.inFlight());
                assertEquals(0, gate.queued());
                waiterIn.await();
                letGo.countDown();
                waiter.get();
            } finally {
                letGo.countDown();
            }
        }
        assertEquals(0, gate.inFlight());
    }

    @Test
    void aWaiterGivesUpAfterTheQueueTimeoutAndLeavesTheQueue() {
        AdmissionGate gate = new AdmissionGate(1, 5, Duration.ofMillis(50), Ticker.system());
        Permit held = gate.enter(NO_WATCH);
        RefusedException e = assertThrows(RefusedException.class, () -> gate.enter(NO_WATCH));
        assertEquals(Refusal.QUEUE_TIMEOUT, e.refusal());
        assertEquals(0, gate.queued());
        held.close();
        assertEquals(0, gate.inFlight(), "the slot was not handed to the waiter that gave up");
    }

    @Test
    void aWaiterWhoseClientLeftIsDroppedAndItsWatchStopped() throws Exception {
        AdmissionGate gate = new AdmissionGate(1, 5, Duration.ofMinutes(5), Ticker.system());
        Permit held = gate.enter(NO_WATCH);
        AtomicReference<Runnable> onGone = new AtomicReference<>();
        AtomicInteger watchesClosed = new AtomicInteger();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Refusal> waiter = pool.submit(() -> {
                try {
                    gate.enter(action -> {
                        onGone.set(action);
                        return watchesClosed::incrementAndGet;
                    }).close();
                    return null;
                } catch (RefusedException e) {
                    return e.refusal();
                }
            });
            await().until(() -> onGone.get() != null && gate.queued() == 1);
            onGone.get().run();
            assertEquals(Refusal.CLIENT_GONE, waiter.get());
        }
        assertEquals(1, watchesClosed.get());
        assertEquals(0, gate.queued());
        held.close();
        assertEquals(0, gate.inFlight());
    }

    @Test
    void aRequestAdmittedAtOnceStartsNoWatch() {
        AdmissionGate gate = new AdmissionGate(1, 5, Duration.ofMinutes(5), Ticker.system());
        AtomicInteger watches = new AtomicInteger();
        gate.enter(action -> {
            watches.incrementAndGet();
            return () -> { };
        }).close();
        assertEquals(0, watches.get());
    }

    @Test
    void manyThreadsNeverExceedTheLimitAndAllSlotsComeBack() throws Exception {
        int limit = 8;
        AdmissionGate gate = new AdmissionGate(limit, 10_000, Duration.ofMinutes(5), Ticker.system());
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 500; i++) {
                pool.submit(() -> {
                    start.await();
                    try (Permit p = gate.enter(NO_WATCH)) {
                        most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                        Thread.yield();
                        inside.decrementAndGet();
                    }
                    return null;
                });
            }
            start.countDown();
        }
        assertTrue(most.get() <= limit, "race: at most " + limit + " inside at once, saw " + most.get());
        assertEquals(0, gate.inFlight());
        assertEquals(0, gate.queued());
    }
}
