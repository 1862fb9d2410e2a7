package dev.vllmrouter.fault;

import java.util.Arrays;

/**
 * The recent failures of a closed breaker as an exact sliding time window: the ticker timestamps of the failures
 * that are younger than the window, oldest first. Recording a failure drops the timestamps that have aged out and
 * appends the new one, so {@link #size()} after {@link #record} is exactly "failures within the last window,
 * this one included" and the breaker opens the moment it reaches the threshold.
 * <p>Why timestamps and not time buckets: the breaker counts failures only (successes never touch it), so the
 * window holds at most {@code failureThreshold - 1} entries and usually none; it is exact at the window's edge,
 * where buckets are off by up to one bucket; and a healthy worker's window is the shared empty instance.
 * Cost: recording copies the surviving timestamps, {@code O(failures in the window)} and at most
 * {@code failureThreshold} longs.
 * <p>Invariant: timestamps are non-decreasing (a caller's clock reading that is older than the last entry is moved
 * up to it), and no entry is at or beyond {@code window} before the newest. Immutable, so thread-safe.
 */
final class FailureWindow {
    static final FailureWindow EMPTY = new FailureWindow(new long[0]);

    private final long[] times;

    private FailureWindow(long[] times) {
        this.times = times;
    }

    int size() {
        return times.length;
    }

    /**
     * A window with the failures older than {@code windowNanos} at {@code now} removed and one failure at
     * {@code now} added. A failure exactly {@code windowNanos} old no longer counts.
     */
    FailureWindow record(long now, long windowNanos) {
        int first = 0;
        while (first < times.length && now - times[first] >= windowNanos) {
            first++;
        }
        int kept = times.length - first;
        long[] next = Arrays.copyOfRange(times, first, first + kept + 1);
        next[kept] = kept > 0 ? Math.max(now, next[kept - 1]) : now;
        return new FailureWindow(next);
    }

    @Override
    public String toString() {
        return "FailureWindow" + Arrays.toString(times);
    }
}
