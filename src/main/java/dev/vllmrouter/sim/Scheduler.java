package dev.vllmrouter.sim;

import io.helidon.webserver.CloseConnectionException;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The simulator's stand-in for vLLM's scheduler limit {@code --max-num-seqs}: at most {@code maxNumSeqs}
 * inference requests run at once; the rest wait in arrival (FIFO) order. The counts feed
 * {@code vllm:num_requests_running} and {@code vllm:num_requests_waiting}.
 *
 * <p>Invariant: running = slots handed out and not yet closed; waiting = callers blocked in {@link #admit()}.
 * {@code maxNumSeqs = 0} means unlimited (no semaphore, waiting stays 0).
 *
 * <p>Thread-safe: a fair {@link Semaphore} gives FIFO admission; counters are atomics. {@link #close()} lets
 * every waiter through so that they can see the worker is closing and abort.
 */
final class Scheduler {
    private final Semaphore permits;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger waiting = new AtomicInteger();
    private volatile boolean closed;

    Scheduler(int maxNumSeqs) {
        this.permits = maxNumSeqs > 0 ? new Semaphore(maxNumSeqs, true) : null;
    }

    int running() {
        return running.get();
    }

    int waiting() {
        return waiting.get();
    }

    /** Waits for a slot; aborts the exchange (closing the connection) when the worker closes meanwhile. */
    Slot admit() {
        if (permits != null) {
            waiting.incrementAndGet();
            try {
                permits.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CloseConnectionException("interrupted while waiting for a scheduler slot");
            } finally {
                waiting.decrementAndGet();
            }
            if (closed) {
                permits.release();
                throw new CloseConnectionException("sim-worker closed");
            }
        }
        running.incrementAndGet();
        return new Slot();
    }

    void close() {
        closed = true;
        if (permits != null) {
            permits.release(Integer.MAX_VALUE / 2);
        }
    }

    /** A running request's slot; closing it (exactly once takes effect) frees the slot. */
    final class Slot implements AutoCloseable {
        private final AtomicBoolean open = new AtomicBoolean(true);

        @Override
        public void close() {
            if (open.compareAndSet(true, false)) {
                running.decrementAndGet();
                if (permits != null) {
                    permits.release();
                }
            }
        }
    }
}
