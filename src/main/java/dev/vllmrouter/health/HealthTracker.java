package dev.vllmrouter.health;

import java.util.HashMap;
import java.util.Map;

/**
 * Health hysteresis per server (vllm-router §9.1): servers start healthy; a healthy server becomes unhealthy after
 * {@code failureThreshold} consecutive failed probes, an unhealthy one healthy again after {@code successThreshold}
 * consecutive good ones; a result of the other kind resets the streak, and a flip resets both. Pure state machine,
 * not thread-safe (owned by the checker's loop).
 */
final class HealthTracker {
    private static final class Streak {
        boolean healthy = true;
        int successes;
        int failures;
    }

    private final int failureThreshold;
    private final int successThreshold;
    private final Map<String, Streak> servers = new HashMap<>();

    HealthTracker(int failureThreshold, int successThreshold) {
        if (failureThreshold < 1 || successThreshold < 1) {
            throw new IllegalArgumentException("thresholds must be >= 1");
        }
        this.failureThreshold = failureThreshold;
        this.successThreshold = successThreshold;
    }

    /**
     * Records one probe of {@code server}.
     *
     * @return the server's new health if it flipped with this result, else {@code null}
     */
    Boolean record(String server, boolean ok) {
        Streak s = servers.computeIfAbsent(server, k -> new Streak());
        if (ok) {
            s.failures = 0;
            s.successes++;
            if (!s.healthy && s.successes >= successThreshold) {
                s.healthy = true;
                s.successes = 0;
                return Boolean.TRUE;
            }
        } else {
            s.successes = 0;
            s.failures++;
            if (s.healthy && s.failures >= failureThreshold) {
                s.healthy = false;
                s.failures = 0;
                return Boolean.FALSE;
            }
        }
        return null;
    }

    boolean healthy(String server) {
        Streak s = servers.get(server);
        return s == null || s.healthy;
    }

    /** Forgets servers that are no longer registered. */
    void retain(java.util.Set<String> current) {
        servers.keySet().retainAll(current);
    }
}
