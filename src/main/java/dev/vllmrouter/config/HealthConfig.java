package dev.vllmrouter.config;

import java.time.Duration;

/**
 * Background health checks (vllm-router's flags and defaults).
 *
 * @param interval         {@code --health-check-interval-secs} (60)
 * @param timeout          {@code --health-check-timeout-secs} (5)
 * @param endpoint         {@code --health-check-endpoint} ({@code /health})
 * @param failureThreshold {@code --health-failure-threshold} (3)
 * @param successThreshold {@code --health-success-threshold} (2)
 */
public record HealthConfig(Duration interval, Duration timeout, String endpoint, int failureThreshold,
                           int successThreshold) {
}
