package dev.vllmrouter.upstream;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Total-time limits for upstream calls ({@code --request-timeout-secs}). Read timeouts ({@link ReadWatchdog}) bound each silence;
 * this bounds the whole answer, stream included: when a request's deadline passes, its action runs (it closes the
 * upstream response, which makes the blocked read fail at once). One daemon platform thread serves all requests;
 * cancelled entries are removed from the queue immediately, so finished requests cost nothing.
 */
public final class Deadlines implements AutoCloseable {
    private final ScheduledThreadPoolExecutor executor;

    public Deadlines() {
        executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "vllm-router-deadlines");
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /** A scheduled action; {@link #cancel()} when the request ended first. */
    public interface Handle {
        void cancel();
    }

    /** Runs {@code action} after {@code delay} unless cancelled first. */
    public Handle schedule(Duration delay, Runnable action) {
        ScheduledFuture<?> f = executor.schedule(action, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
