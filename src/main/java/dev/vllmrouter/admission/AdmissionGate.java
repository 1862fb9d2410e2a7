package dev.vllmrouter.admission;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

import dev.vllmrouter.common.Ticker;

/**
 * Admission control: a true limit on the requests in flight ({@code --max-concurrent-requests}), held from admission
 * until the answer is over (a stream's last byte), with a bounded FIFO queue ({@code --queue-size}) whose waiters give
 * up after {@code --queue-timeout-secs}.
 * <p><b>Invariants:</b> {@code inFlight <= limit}; {@code queue.size() <= queueSize}; a released slot goes straight to
 * the oldest waiter still waiting (nobody arriving later can take it first), so queued requests are admitted in
 * arrival order. A waiter that timed out or whose client left is removed from the queue and never admitted.
 * <p>vllm-router uses a token bucket instead, whose tokens come back when a handler returns its response head and
 * that refills with time, so it bounds request <em>starts</em>, not concurrency (reference §9.6). Helidon's Bulkhead
 * has the limit and the queue, but no queue timeout and no way to drop a waiter whose client left, hence this class.
 * <p>Thread-safe: one lock guards the counters and the queue; each waiter sleeps on its own condition.
 */
public final class AdmissionGate {
    /** What became of a request that could not be admitted. */
    public enum Refusal {
        /** The limit is reached and the queue is full (or disabled): 429. */
        QUEUE_FULL,
        /** It waited {@code --queue-timeout-secs} in the queue: 408. */
        QUEUE_TIMEOUT,
        /** Its client closed the connection while it waited: no answer is possible. */
        CLIENT_GONE
    }

    /** Thrown by {@link #enter} when a request is not admitted. */
    public static final class RefusedException extends RuntimeException {
        private final Refusal refusal;
        private final int retryAfterSeconds;

        RefusedException(Refusal refusal, int retryAfterSeconds) {
            super(refusal.name(), null, false, false);
            this.refusal = refusal;
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public Refusal refusal() {
            return refusal;
        }

        /** A hint for the client's {@code Retry-After}, at least 1. */
        public int retryAfterSeconds() {
            return retryAfterSeconds;
        }
    }

    /** A slot held by one admitted request; closing it (once; later calls do nothing) frees the slot. */
    public final class Permit implements AutoCloseable {
        private final long admittedAt = ticker.nanos();
        private final AtomicBoolean open = new AtomicBoolean(true);

        @Override
        public void close() {
            if (open.compareAndSet(true, false)) {
                release(ticker.nanos() - admittedAt);
            }
        }
    }

    private static final int MAX_RETRY_AFTER_SECONDS = 60;

    private final int limit;
    private final int queueSize;
    private final long queueTimeoutNanos;
    private final Ticker ticker;
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Waiter> queue = new ArrayDeque<>();
    private int inFlight;
    /** Mean time a slot is held (exponentially weighted), for the {@code Retry-After} estimate. */
    private double meanHoldNanos;

    /**
     * @param limit        most requests in flight, at least 1
     * @param queueSize    most requests waiting for a slot; 0 refuses at once when the limit is reached
     * @param queueTimeout longest wait in the queue
     */
    public AdmissionGate(int limit, int queueSize, Duration queueTimeout, Ticker ticker) {
        if (limit < 1 || queueSize < 0 || queueTimeout.isNegative()) {
            throw new IllegalArgumentException("limit " + limit + ", queue " + queueSize + ", timeout " + queueTimeout);
        }
        this.limit = limit;
        this.queueSize = queueSize;
        this.queueTimeoutNanos = queueTimeout.toNanos();
        this.ticker = ticker;
    }

    /**
     * Admits the calling request, waiting in the queue when the limit is reached.
     *
     * @param watchClient called only when the request must wait: starts watching its client and returns the handle
     *                    that stops watching; the watcher runs the given action if the client leaves
     * @throws RefusedException when the request is not admitted
     */
    public Permit enter(Function<Runnable, AutoCloseable> watchClient) {
        Waiter waiter;
        lock.lock();
        try {
            if (inFlight < limit && queue.isEmpty()) {
                inFlight++;
                return new Permit();
            }
            if (queue.size() >= queueSize) {
                throw new RefusedException(Refusal.QUEUE_FULL, retryAfterSeconds());
            }
            waiter = new Waiter(lock.newCondition());
            queue.addLast(waiter);
        } finally {
            lock.unlock();
        }
        AutoCloseable watch = watchClient.apply(() -> leave(waiter, Waiter.GONE));
        try {
            return await(waiter);
        } finally {
            try {
                watch.close();
            } catch (Exception ignored) {
                // stopping a watch cannot fail in a way that matters here
            }
        }
    }

    private Permit await(Waiter waiter) {
        long deadline = ticker.nanos() + queueTimeoutNanos;
        boolean interrupted = false;
        lock.lock();
        try {
            while (waiter.state == Waiter.WAITING) {
                long left = deadline - ticker.nanos();
                if (left <= 0) {
                    leaveLocked(waiter, Waiter.TIMED_OUT);
                    break;
                }
                try {
                    waiter.wakeUp.awaitNanos(left);
                } catch (InterruptedException e) {
                    interrupted = true;
                    leaveLocked(waiter, Waiter.GONE);
                }
            }
            return switch (waiter.state) {
                case Waiter.ADMITTED -> new Permit();
                case Waiter.TIMED_OUT -> throw new RefusedException(Refusal.QUEUE_TIMEOUT, retryAfterSeconds());
                default -> throw new RefusedException(Refusal.CLIENT_GONE, 1);
            };
        } finally {
            lock.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void leave(Waiter waiter, int why) {
        lock.lock();
        try {
            leaveLocked(waiter, why);
        } finally {
            lock.unlock();
        }
    }

    private void leaveLocked(Waiter waiter, int why) {
        if (waiter.state == Waiter.WAITING) {
            waiter.state = why;
            queue.remove(waiter);
            waiter.wakeUp.signal();
        }
    }

    private void release(long heldNanos) {
        lock.lock();
        try {
            meanHoldNanos = meanHoldNanos == 0 ? heldNanos : meanHoldNanos * 0.9 + heldNanos * 0.1;
            Waiter next = queue.pollFirst();
            if (next == null) {
                inFlight--;
            } else {
                // the slot passes to the waiter: inFlight stays the same
                next.state = Waiter.ADMITTED;
                next.wakeUp.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Seconds until a slot is likely free for a newcomer: the queue ahead of it drains {@code limit} requests per mean
     * hold time. Between 1 and {@value #MAX_RETRY_AFTER_SECONDS}.
     */
    private int retryAfterSeconds() {
        double seconds = meanHoldNanos * (queue.size() + 1) / limit / 1e9;
        return (int) Math.max(1, Math.min(MAX_RETRY_AFTER_SECONDS, Math.ceil(seconds)));
    }

    /** Requests holding a slot now. */
    public int inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }

    /** Requests waiting for a slot now. */
    public int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    public int limit() {
        return limit;
    }

    private static final class Waiter {
        static final int WAITING = 0;
        static final int ADMITTED = 1;
        static final int TIMED_OUT = 2;
        static final int GONE = 3;

        final Condition wakeUp;
        /** Guarded by the gate's lock. */
        int state = WAITING;

        Waiter(Condition wakeUp) {
            this.wakeUp = wakeUp;
        }
    }
}
