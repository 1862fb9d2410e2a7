package dev.vllmrouter.config;

import java.time.Duration;

/**
 * Admission control and draining.
 *
 * @param maxConcurrentRequests {@code --max-concurrent-requests} (32768): most generation requests in flight
 * @param queueSize             {@code --queue-size} (100): most requests waiting for a slot; 0 = none
 * @param queueTimeout          {@code --queue-timeout-secs} (60)
 * @param shutdownGracePeriod   {@code --shutdown-grace-period-secs} (30): how long running requests may finish
 *                              after SIGTERM
 */
public record AdmissionConfig(int maxConcurrentRequests, int queueSize, Duration queueTimeout,
                              Duration shutdownGracePeriod) {
}
