package dev.vllmrouter.health;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.BooleanSupplier;

import dev.vllmrouter.common.Ticker;

/**
 * Waits until a worker answers its health probe, polling every {@code --worker-startup-check-interval} up to
 * {@code --worker-startup-timeout-secs} (vllm-router's start-up and {@code /add_worker} behaviour). Probes once per
 * host: DP ranks of one server share its health.
 */
public final class WorkerWait {
    /** How the wait sleeps between polls; a seam so tests need not wait on the clock. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    private final HealthProbe probe;
    private final Ticker ticker;
    private final Sleeper sleeper;
    private final Duration interval;
    private final Duration timeout;

    public WorkerWait(HealthProbe probe, Ticker ticker, Sleeper sleeper, Duration interval, Duration timeout) {
        this.probe = probe;
        this.ticker = ticker;
        this.sleeper = sleeper;
        this.interval = interval;
        this.timeout = timeout;
    }

    /** Whether {@code baseUrl} became healthy before the timeout. */
    public boolean awaitHealthy(String baseUrl) {
        return awaitAny(Set.of(baseUrl));
    }

    /** Whether at least one of {@code baseUrls} became healthy before the timeout. */
    public boolean awaitAny(Collection<String> baseUrls) {
        Set<String> hosts = new LinkedHashSet<>(baseUrls);
        return poll(() -> hosts.stream().anyMatch(probe::probe));
    }

    private boolean poll(BooleanSupplier healthy) {
        long deadline = ticker.nanos() + timeout.toNanos();
        while (true) {
            if (healthy.getAsBoolean()) {
                return true;
            }
            long left = deadline - ticker.nanos();
            if (left <= 0) {
                return false;
            }
            try {
                sleeper.sleep(Duration.ofNanos(Math.min(left, interval.toNanos())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
