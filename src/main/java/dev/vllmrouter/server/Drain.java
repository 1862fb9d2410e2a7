package dev.vllmrouter.server;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Graceful shutdown: counts the requests being answered and, once {@link #start} is called (SIGTERM), makes the
 * readiness probes and new generation requests answer 503 while {@link #awaitIdle} lets the running ones finish.
 * <p>Invariant: {@code active} is the number of {@link #enter} calls not yet matched by {@link #exit}. The request
 * path only increments and decrements one atomic counter; the lock is taken only while draining, to wake the waiter.
 */
public final class Drain {
    private final AtomicInteger active = new AtomicInteger();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private volatile boolean draining;

    /** A request starts; call {@link #exit} exactly once when it is answered. */
    void enter() {
        active.incrementAndGet();
    }

    void exit() {
        if (active.decrementAndGet() == 0 && draining) {
            lock.lock();
            try {
                idle.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Stops admitting: from now on readiness is 503 and new generation requests are refused. */
    public void start() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    /** Requests being answered now. */
    public int active() {
        return active.get();
    }

    /**
     * Waits until no request is being answered, or {@code grace} has passed. Call after {@link #start}.
     *
     * @return the number of requests still running (0 when all finished)
     */
    public int awaitIdle(Duration grace) throws InterruptedException {
        long deadline = System.nanoTime() + grace.toNanos();
        lock.lock();
        try {
            while (active.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                // exit() signals under this lock once it sees draining; the 100 ms bound covers an exit that read
                // draining just before start() set it
                idle.awaitNanos(Math.min(left, 100_000_000L));
            }
            return active.get();
        } finally {
            lock.unlock();
        }
    }
}
