package dev.vllmrouter.server;

/**
 * How long the rest of a request body may take, so that a client trickling its body (a byte every few seconds, each
 * pause shorter than {@code --client-body-timeout-secs}) cannot hold a connection and a thread for ever.
 * <p><b>Invariant:</b> a body that started at {@code start} and has {@code received} bytes so far must be complete by
 * {@code start + grace + received / minRate} seconds, where {@code grace} is {@code --client-body-timeout-secs} and
 * {@code minRate} is {@code --client-body-min-rate} (bytes per second; Apache's mod_reqtimeout {@code MinRate} rule:
 * each {@code minRate} bytes that arrive buy one more second). Every single read is also bounded by the pause limit.
 * A rate of 0 turns the rule off: only pauses are bounded. Pure: the caller passes the clock's readings.
 */
final class BodyPace {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** The largest rate accepted (1 GB/s), so that the arithmetic cannot overflow. */
    static final long MAX_RATE = 1_000_000_000L;

    private final long start;
    private final long graceNanos;
    private final long pauseMillis;
    private final long minRate;

    /**
     * @param start       {@link System#nanoTime()}-style reading when the body began to be read
     * @param graceNanos  {@code --client-body-timeout-secs} in nanoseconds; also the longest single pause
     * @param minRate     bytes per second, or 0 for no rate rule
     */
    BodyPace(long start, long graceNanos, long minRate) {
        if (graceNanos <= 0 || minRate < 0 || minRate > MAX_RATE) {
            throw new IllegalArgumentException("grace " + graceNanos + " ns, rate " + minRate);
        }
        this.start = start;
        this.graceNanos = graceNanos;
        this.pauseMillis = Math.max(1, graceNanos / 1_000_000);
        this.minRate = minRate;
    }

    /** The longest single pause, in milliseconds. */
    long pauseMillis() {
        return pauseMillis;
    }

    /**
     * The timeout for the next read, in milliseconds (at least 1): the pause limit, or less when the body's deadline
     * comes sooner; 0 when the deadline has passed (the body is too slow: stop reading).
     */
    long nextReadMillis(long now, long received) {
        if (minRate == 0) {
            return pauseMillis;
        }
        long left = allowed(received) - (now - start);
        if (left <= 0) {
            return 0;
        }
        return Math.max(1, Math.min(pauseMillis, (left + 999_999) / 1_000_000));
    }

    /**
     * How long, from its start, a body of which {@code received} bytes have come may take in all, in nanoseconds
     * (saturating instead of overflowing; {@code minRate} is at most {@link #MAX_RATE}).
     */
    long allowed(long received) {
        long earned = received / minRate; // whole seconds bought by the bytes
        if (earned > Long.MAX_VALUE / NANOS_PER_SECOND / 2) {
            return Long.MAX_VALUE / 2;
        }
        long earnedNanos = earned * NANOS_PER_SECOND + (received % minRate) * NANOS_PER_SECOND / minRate;
        long sum = graceNanos + earnedNanos;
        return sum < 0 ? Long.MAX_VALUE / 2 : sum;
    }
}
