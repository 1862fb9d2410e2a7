package dev.vllmrouter.proxy;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of worker answers that all requests together may hold in memory at once. {@link AnswerRelay} reads a
 * plain answer whole before sending it (so that a worker failing mid-body still yields a clean 502 and a slow client
 * does not hold the worker's lease); each such buffer is first reserved here. A request that cannot reserve what it
 * needs does not wait: it streams the answer through instead, in small pieces, so memory stays bounded however many
 * large answers run at once.
 * <p>Invariant: {@code 0 <= reserved() <= capacity()}; every successful {@link #tryReserve} is matched by one
 * {@link #release} of the same amount. Lock-free (one CAS loop). Default capacity: a quarter of the maximum heap
 * ({@link #forHeap()}): with the image's {@code -XX:MaxRAMPercentage=75}, a 2 GiB container buffers up to 384 MiB.
 */
public final class BufferBudget {
    private static final BufferBudget SHARED = new BufferBudget(Runtime.getRuntime().maxMemory() / 4);

    private final long capacity;
    private final AtomicLong reserved = new AtomicLong();
    private final AtomicLong highWater = new AtomicLong();

    /** @param capacity bytes that may be reserved at once (0: nothing is ever buffered) */
    public BufferBudget(long capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must be >= 0, got " + capacity);
        }
        this.capacity = capacity;
    }

    /** The process-wide budget: a quarter of the maximum heap. */
    public static BufferBudget forHeap() {
        return SHARED;
    }

    /** Reserves {@code bytes} if that keeps the total within the capacity; never waits. */
    public boolean tryReserve(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
        while (true) {
            long now = reserved.get();
            long next = now + bytes;
            if (next > capacity) {
                return false;
            }
            if (reserved.compareAndSet(now, next)) {
                highWater.accumulateAndGet(next, Math::max);
                return true;
            }
        }
    }

    /** Gives back {@code bytes} that were reserved. */
    public void release(long bytes) {
        long left = reserved.addAndGet(-bytes);
        if (left < 0) {
            throw new IllegalStateException("released more than was reserved: " + left);
        }
    }

    public long capacity() {
        return capacity;
    }

    /** Bytes reserved now. */
    public long reserved() {
        return reserved.get();
    }

    /** The most bytes ever reserved at once (for tests and measurements). */
    public long highWater() {
        return highWater.get();
    }
}
