package dev.vllmrouter.sim;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * What a simulated worker received: every request on every route (including health checks, metrics
 * scrapes and unknown paths) in arrival order, and how many streams the client aborted.
 *
 * <p>Tests wait on it with the {@code await*} methods, which block on a condition (no polling, no sleeps) and
 * throw {@link AssertionError} when the timeout passes.
 *
 * <p>Bounded: only the most recent {@link #limit()} requests are kept (default {@value #DEFAULT_LIMIT}) so that a
 * benchmark driving the worker at 10k+ req/s does not grow the heap without end; {@link #totalRecorded()}
 * counts all of them. {@code limit(0)} turns storing off (counting continues).
 *
 * <p>Thread-safe: one {@link ReentrantLock} guards the state; it is held only for O(1) work (never across I/O).
 */
public final class RequestLog {
    /** Default number of requests kept. */
    public static final int DEFAULT_LIMIT = 10_000;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<RecordedRequest> requests = new ArrayDeque<>();
    private long total;
    private int disconnects;
    private final java.util.concurrent.atomic.AtomicInteger unauthorized = new java.util.concurrent.atomic.AtomicInteger();
    private volatile int limit = DEFAULT_LIMIT;

    RequestLog() {
    }

    /** Whether requests are stored (builders can skip copying headers when not). */
    boolean storing() {
        return limit > 0;
    }

    void record(RecordedRequest request) {
        lock.lock();
        try {
            total++;
            if (request != null && limit > 0) {
                requests.addLast(request);
                while (requests.size() > limit) {
                    requests.removeFirst();
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void disconnected() {
        lock.lock();
        try {
            disconnects++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot copy of the kept requests, oldest first. */
    public List<RecordedRequest> requests() {
        lock.lock();
        try {
            return List.copyOf(requests);
        } finally {
            lock.unlock();
        }
    }

    /** Requests received since start or the last {@link #clear()}, including those no longer kept. */
    public long totalRecorded() {
        lock.lock();
        try {
            return total;
        } finally {
            lock.unlock();
        }
    }

    void refusedUnauthorized() {
        unauthorized.incrementAndGet();
    }

    /** Requests refused with 401 for a missing or wrong key ({@code apiKey}); they are not recorded otherwise. */
    public int unauthorized() {
        return unauthorized.get();
    }

    /** Streams and hung requests aborted because the client closed the connection. */
    public int disconnects() {
        lock.lock();
        try {
            return disconnects;
        } finally {
            lock.unlock();
        }
    }

    /** Forgets all requests and resets {@link #totalRecorded()} and {@link #disconnects()} to 0. */
    public void clear() {
        lock.lock();
        try {
            requests.clear();
            total = 0;
            disconnects = 0;
        } finally {
            lock.unlock();
        }
    }

    public int limit() {
        return limit;
    }

    /** Keep at most {@code limit} most recent requests (0 = keep none). */
    public void limit(int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit must be >= 0, got " + limit);
        }
        lock.lock();
        try {
            this.limit = limit;
            while (requests.size() > limit) {
                requests.removeFirst();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Blocks until at least {@code n} disconnects were counted. */
    public void awaitDisconnects(int n, Duration timeout) {
        awaitTrue(() -> disconnects >= n, timeout,
                () -> "waiting for " + n + " client disconnect(s); saw " + disconnects);
    }

    /** Blocks until a request is kept and returns the oldest kept request. */
    public RecordedRequest awaitRequest(Duration timeout) {
        return awaitRequests(1, timeout).get(0);
    }

    /** Blocks until at least {@code n} requests are kept and returns them all, oldest first. */
    public List<RecordedRequest> awaitRequests(int n, Duration timeout) {
        awaitTrue(() -> requests.size() >= n, timeout,
                () -> "waiting for " + n + " request(s); have " + requests.size() + ": " + requests);
        return requests();
    }

    /** Blocks until a kept request matches {@code filter} and returns the oldest such request. */
    public RecordedRequest awaitRequest(Predicate<RecordedRequest> filter, Duration timeout) {
        RecordedRequest[] found = new RecordedRequest[1];
        awaitTrue(() -> {
            for (RecordedRequest r : requests) {
                if (filter.test(r)) {
                    found[0] = r;
                    return true;
                }
            }
            return false;
        }, timeout, () -> "waiting for a matching request; have " + requests);
        return found[0];
    }

    private interface Check {
        boolean ok();
    }

    private interface Message {
        String get();
    }

    private void awaitTrue(Check check, Duration timeout, Message message) {
        long remaining = timeout.toNanos();
        lock.lock();
        try {
            while (!check.ok()) {
                if (remaining <= 0) {
                    throw new AssertionError("timed out after " + timeout + " " + message.get());
                }
                remaining = changed.awaitNanos(remaining);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while " + message.get(), e);
        } finally {
            lock.unlock();
        }
    }
}
