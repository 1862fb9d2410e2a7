package dev.vllmrouter.fault;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one worker's {@link CircuitBreaker}, validated at construction so a bad flag stops startup.
 *
 * @param failureThreshold failures within {@code window} that open a closed breaker ({@code --cb-failure-threshold},
 *                         default 10, 1..{@value #MAX_FAILURE_THRESHOLD}: the breaker keeps one timestamp per recent
 *                         failure, so "effectively never" is spelled {@code disabled}, not a huge threshold)
 * @param successThreshold consecutive trial successes that close a half-open breaker
 *                         ({@code --cb-success-threshold}, default 3)
 * @param openDuration     time an open breaker rejects calls before it admits trials
 *                         ({@code --cb-timeout-duration-secs}, default 60 s)
 * @param window           how far back failures count ({@code --cb-window-duration-secs}, default 120 s; vllm-router
 *                         parses this flag and ignores it, this implementation honours it)
 * @param halfOpenTrials   calls admitted at once while half-open (ours, default 1; vllm-router admits everything)
 * @param disabled         {@code --disable-circuit-breaker}: the breaker stays closed whatever happens
 */
public record CircuitBreakerConfig(int failureThreshold, int successThreshold, Duration openDuration, Duration window,
        int halfOpenTrials, boolean disabled) {

    public static final int MAX_FAILURE_THRESHOLD = 10_000;

    public CircuitBreakerConfig {
        Objects.requireNonNull(openDuration, "openDuration");
        Objects.requireNonNull(window, "window");
        if (failureThreshold < 1 || failureThreshold > MAX_FAILURE_THRESHOLD) {
            throw new IllegalArgumentException("failureThreshold: " + failureThreshold + " (expected: 1.."
                    + MAX_FAILURE_THRESHOLD + "; to never open the breaker, disable it)");
        }
        if (successThreshold < 1) {
            throw new IllegalArgumentException("successThreshold: " + successThreshold + " (expected: >= 1)");
        }
        if (openDuration.isNegative()) {
            throw new IllegalArgumentException("openDuration: " + openDuration + " (expected: >= 0)");
        }
        if (window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("window: " + window + " (expected: > 0)");
        }
        if (halfOpenTrials < 1) {
            throw new IllegalArgumentException("halfOpenTrials: " + halfOpenTrials + " (expected: >= 1)");
        }
    }

    /** vllm-router's CLI defaults: 10 failures in 120 s open, 60 s open, 3 successes close; one trial at a time. */
    public static CircuitBreakerConfig defaults() {
        return new CircuitBreakerConfig(10, 3, Duration.ofSeconds(60), Duration.ofSeconds(120), 1, false);
    }

    /** These settings with the breaker switched off. */
    public CircuitBreakerConfig asDisabled() {
        return new CircuitBreakerConfig(failureThreshold, successThreshold, openDuration, window, halfOpenTrials, true);
    }

    long openNanos() {
        return saturatedNanos(openDuration);
    }

    long windowNanos() {
        return saturatedNanos(window);
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }
}
