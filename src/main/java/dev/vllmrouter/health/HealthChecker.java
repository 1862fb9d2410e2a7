package dev.vllmrouter.health;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * Background health checks (vllm-router §9.1, {@code --health-check-*}): every interval, each registered server is
 * probed once — not once per DP rank, its ranks share its health — all concurrently, each probe bounded by its
 * timeout; results go through {@link HealthTracker}'s hysteresis, and a flip is published to the registry, which
 * takes the server's workers out of (or back into) rotation. Unhealthy workers stay registered.
 * <p>One daemon thread runs the loop; probes run on virtual threads.
 */
public final class HealthChecker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HealthChecker.class.getName());

    private final WorkerRegistry registry;
    private final HealthProbe probe;
    private final HealthTracker tracker;
    private final Duration interval;
    private final Duration timeout;
    private volatile boolean closed;
    private Thread loop;

    public HealthChecker(WorkerRegistry registry, HealthProbe probe, int failureThreshold, int successThreshold,
                         Duration interval, Duration timeout) {
        this.registry = registry;
        this.probe = probe;
        this.tracker = new HealthTracker(failureThreshold, successThreshold);
        this.interval = interval;
        this.timeout = timeout;
    }

    public HealthChecker start() {
        loop = Thread.ofPlatform().daemon().name("vllm-router-health").start(() -> {
            while (!closed) {
                try {
                    Thread.sleep(interval);
                    round();
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "health check round failed: " + e);
                }
            }
        });
        return this;
    }

    /** One round: probe every server once and publish health flips. */
    public void round() {
        Set<String> servers = new LinkedHashSet<>();
        for (Worker w : registry.snapshot().workers()) {
            servers.add(w.baseUrl());
        }
        tracker.retain(servers);
        List<String> order = new ArrayList<>(servers);
        List<Future<Boolean>> probes = new ArrayList<>();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String server : order) {
                probes.add(executor.submit(() -> probe.probe(server)));
            }
            for (int i = 0; i < order.size(); i++) {
                boolean ok;
                try {
                    ok = probes.get(i).get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    ok = false;
                }
                Boolean flipped = tracker.record(order.get(i), ok);
                if (flipped != null) {
                    LOG.log(flipped ? Level.INFO : Level.WARNING, "worker {0} is now {1}", order.get(i),
                            flipped ? "healthy" : "unhealthy: out of rotation");
                    registry.markHealthy(order.get(i), flipped);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        if (loop != null) {
            loop.interrupt();
        }
    }
}
