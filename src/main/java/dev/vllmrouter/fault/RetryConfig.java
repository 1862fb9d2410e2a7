package dev.vllmrouter.fault;

import java.time.Duration;
import java.util.Objects;

/**
 * Retry settings with vllm-router's flag semantics. Out-of-range values that vllm-router silently adjusts are adjusted
 * the same way here (so a flag that worked there works here); values it could not have meant are rejected.
 *
 * @param maxAttempts    total attempts including the first ({@code --retry-max-retries}, default 5; values below 1
 *                       mean 1; {@code disabled} forces 1)
 * @param initialBackoff delay before the first retry ({@code --retry-initial-backoff-ms}, default 50 ms)
 * @param maxBackoff     cap of the exponential delay ({@code --retry-max-backoff-ms}, default 30 000 ms)
 * @param multiplier     growth per retry ({@code --retry-backoff-multiplier}, default 1.5; finite, &gt; 0)
 * @param jitter         relative jitter j, the delay varies by up to ±j ({@code --retry-jitter-factor}, default 0.2,
 *                       clamped to [0, 1])
 * @param disabled       {@code --disable-retries}
 */
public record RetryConfig(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier,
        double jitter, boolean disabled) {

    public RetryConfig {
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        if (initialBackoff.isNegative()) {
            throw new IllegalArgumentException("initialBackoff: " + initialBackoff + " (expected: >= 0)");
        }
        if (maxBackoff.isNegative()) {
            throw new IllegalArgumentException("maxBackoff: " + maxBackoff + " (expected: >= 0)");
        }
        if (!Double.isFinite(multiplier) || multiplier <= 0) {
            throw new IllegalArgumentException("multiplier: " + multiplier + " (expected: a finite number > 0)");
        }
        if (Double.isNaN(jitter)) {
            throw new IllegalArgumentException("jitter: NaN (expected: 0..1)");
        }
        jitter = Math.min(1.0, Math.max(0.0, jitter));
        maxAttempts = disabled ? 1 : Math.max(1, maxAttempts);
    }

    /** vllm-router's CLI defaults: 5 attempts, 50 ms × 1.5^n up to 30 s, ±20 % jitter. */
    public static RetryConfig defaults() {
        return new RetryConfig(5, Duration.ofMillis(50), Duration.ofMillis(30_000), 1.5, 0.2, false);
    }
}
