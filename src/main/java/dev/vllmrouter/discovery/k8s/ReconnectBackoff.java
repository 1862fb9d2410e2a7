package dev.vllmrouter.discovery.k8s;

import java.time.Duration;

/**
 * The wait before reconnecting to the API server after the {@code n}-th consecutive failure:
 * {@code min(initial × 2^(n-1), max)}; with the defaults 1 s, 2 s, 4 s ... 256 s, then 300 s (vllm-router's values).
 * No jitter, as in vllm-router: one router makes at most one request per wait, which an API server does not notice.
 * <p>Invariant: the result is in {@code [initial, max]} for every {@code n >= 1}. Immutable, thread-safe.
 *
 * @param initial the first wait (1 s)
 * @param max     the cap (300 s)
 */
record ReconnectBackoff(Duration initial, Duration max) {
    static final ReconnectBackoff DEFAULT = new ReconnectBackoff(Duration.ofSeconds(1), Duration.ofSeconds(300));

    ReconnectBackoff {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff: initial " + initial + ", max " + max
                    + " (expected 0 < initial <= max)");
        }
    }

    /** @param failures consecutive failures so far, at least 1 */
    Duration delay(int failures) {
        if (failures < 1) {
            throw new IllegalArgumentException("failures: " + failures + " (expected >= 1)");
        }
        Duration d = initial;
        for (int i = 1; i < failures && d.compareTo(max) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(max) > 0 ? max : d;
    }
}
