package dev.vllmrouter.fault;

import java.time.Duration;
import java.util.Objects;

import dev.vllmrouter.common.RandomSource;

/**
 * How long to wait before a retry: vllm-router's exponential backoff with symmetric jitter (reference §9.3). For the
 * 0-based retry index {@code n} (0 = the wait after the first attempt failed), in whole milliseconds:
 * <pre>
 *   d  = min(floor(initialBackoffMs × multiplier^n), maxBackoffMs)
 *   d' = max(0, d + round(d × u)),  u uniform in [-jitter, +jitter)
 * </pre>
 * Worked example with the defaults (50 ms, × 1.5, max 30 s, jitter 0.2): d = 50, 75, 112, 168, 253 ... ms, each
 * then varied by up to ±20 %. The base is truncated to whole milliseconds as vllm-router does; with jitter 0 no
 * random number is drawn and the result is exact.
 * <p>{@link #delay(int, Duration)} also honours a worker's {@code Retry-After}: the wait is
 * {@code max(d', min(retryAfter, cap))} with {@code cap = min(maxBackoff, }{@value #RETRY_AFTER_CAP_SECONDS}{@code  s)}.
 * Never shorter than the backoff, so a worker cannot talk the router into hammering the fleet; capped, because a
 * client is waiting on an open request and the retry goes to another worker than the one that asked for the pause
 * (a caller that can find an idle worker may prefer {@link #delay(int)} and treat the hint as that worker's
 * cool-down).
 * <p>Invariant: the result is never negative and, without {@code Retry-After}, at most
 * {@code maxBackoff × (1 + jitter)} (rounded to the millisecond). Thread-safety: immutable; as thread-safe as its {@link RandomSource}.
 */
public final class Backoff {
    public static final long RETRY_AFTER_CAP_SECONDS = 30;

    private final RetryConfig config;
    private final RandomSource random;
    private final double initialMs;
    private final double maxMs;
    private final Duration retryAfterCap;

    public Backoff(RetryConfig config, RandomSource random) {
        this.config = Objects.requireNonNull(config, "config");
        this.random = Objects.requireNonNull(random, "random");
        this.initialMs = config.initialBackoff().toMillis();
        this.maxMs = config.maxBackoff().toMillis();
        Duration hardCap = Duration.ofSeconds(RETRY_AFTER_CAP_SECONDS);
        this.retryAfterCap = config.maxBackoff().compareTo(hardCap) < 0 ? config.maxBackoff() : hardCap;
    }

    /** The wait before retry number {@code retryIndex + 1}; {@code retryIndex} is 0 for the first retry. */
    public Duration delay(int retryIndex) {
        if (retryIndex < 0) {
            throw new IllegalArgumentException("retryIndex: " + retryIndex + " (expected: >= 0)");
        }
        // in double first: multiplier^n overflows to infinity, which min() turns into the cap
        long d = (long) Math.min(Math.floor(initialMs * Math.pow(config.multiplier(), retryIndex)), maxMs);
        double j = config.jitter();
        if (j == 0.0 || d == 0) {
            return Duration.ofMillis(d);
        }
        double u = (random.nextDouble() * 2.0 - 1.0) * j;
        return Duration.ofMillis(Math.max(0, d + Math.round(d * u)));
    }

    /**
     * The wait before retry number {@code retryIndex + 1} when the failed attempt's worker sent {@code Retry-After}
     * ({@code null}: none, same as {@link #delay(int)}): {@code max(backoff, min(retryAfter, cap))}.
     */
    public Duration delay(int retryIndex, Duration retryAfter) {
        Duration backoff = delay(retryIndex);
        if (retryAfter == null || retryAfter.isNegative()) {
            return backoff;
        }
        Duration hinted = retryAfter.compareTo(retryAfterCap) > 0 ? retryAfterCap : retryAfter;
        return hinted.compareTo(backoff) > 0 ? hinted : backoff;
    }

    public RetryConfig config() {
        return config;
    }

    /** The longest wait a {@code Retry-After} can cause: {@code min(maxBackoff, 30 s)}. */
    public Duration retryAfterCap() {
        return retryAfterCap;
    }
}
