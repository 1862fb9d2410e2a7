package dev.vllmrouter.common;

import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Randomness as a seam: production uses {@link ThreadLocalRandom} (no contention between request threads), tests use
 * {@link #seeded(long)} for repeatable sequences.
 */
public interface RandomSource {
    /** A uniformly distributed int in {@code [0, bound)}; {@code bound} must be positive. */
    int nextInt(int bound);

    /** A uniformly distributed double in {@code [0, 1)}. */
    double nextDouble();

    static RandomSource threadLocal() {
        return new RandomSource() {
            @Override
            public int nextInt(int bound) {
                return ThreadLocalRandom.current().nextInt(bound);
            }

            @Override
            public double nextDouble() {
                return ThreadLocalRandom.current().nextDouble();
            }
        };
    }

    /** A deterministic source for tests; thread-safe through a lock (not a monitor: no pinned carrier on JDK 21). */
    static RandomSource seeded(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
        return new RandomSource() {
            @Override
            public int nextInt(int bound) {
                lock.lock();
                try {
                    return random.nextInt(bound);
                } finally {
                    lock.unlock();
                }
            }

            @Override
            public double nextDouble() {
                lock.lock();
                try {
                    return random.nextDouble();
                } finally {
                    lock.unlock();
                }
            }
        };
    }
}
