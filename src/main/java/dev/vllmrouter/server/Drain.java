package dev.vllmrouter.server;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Graceful shutdown: counts the requests being answered and, once {@link #start} is called (SIGTERM), makes the
 * readiness probes and new generation requests answer 503 while {@link #awaitIdle} lets the running ones finish.
 * <p>Invariant: {@code active} is the number of {@link #enter} calls not yet matched by their handle's close; it
 * never goes below 0. Thread-safe.
 */
public final class Drain {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private volatile boolean draining;
    private int active;

    /** Counts one request until the returned handle is closed (exactly once). */
    Runnable enter() {
        lock.lock();
        try {
            active++;
        } finally {
            lock.unlock();
        }
        boolean[] closed = new boolean[1];
        return () -> {
            lock.lock();
            try {
                if (!closed[0]) {
                    closed[0] = true;
                    if (--active == 0) {
                        idle.signalAll();
                    }
                }
            } finally {
                lock.unlock();
            }
        };
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
        lock.lock();
        try {
            return active;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until no request is being answered, or {@code grace} has passed.
     *
     * @return the number of requests still running (0 when all finished)
     */
    public int awaitIdle(Duration grace) throws InterruptedException {
        long left = grace.toNanos();
        lock.lock();
        try {
            while (active > 0 && left > 0) {
                left = idle.awaitNanos(left);
            }
            return active;
        } finally {
            lock.unlock();
        }
    }
}
