package dev.vllmrouter;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.helidon.http.Status;
import io.helidon.service.registry.GlobalServiceRegistry;
import io.helidon.webserver.WebServer;

import dev.vllmrouter.metrics.PrometheusMetrics;

/**
 * Start-up on both cores. Helidon's service registry is the longest single step of a start (about 0.25 s of cold
 * code, even with the AOT cache) and does not depend on the flags; so {@link #begin} runs it, and a web server built
 * but never started, on a platform thread of its own from the first line of {@code main}, while the main thread
 * reads the flags, builds the configuration and waits for a worker. The first {@link #await} then warms Jackson and
 * Micrometer on the calling thread before it waits for Helidon's side. The main thread later finds those classes
 * initialised and their call sites linked: the second run of cold code costs a tenth of the first.
 *
 * <p>Invariant: each library is warmed by one thread only, and the main thread calls {@link #await} before it touches
 * Helidon (or reads a file with Helidon's config or key readers), so no class of Helidon's is ever being initialised by
 * two threads at once (two threads initialising classes that need each other in opposite order would deadlock). Until
 * then the main thread runs only this project's code, picocli's and the JDK's. Nothing the warm-up builds is kept,
 * started or bound: a failure in it changes nothing but the time.
 */
final class StartupWarmup {
    private final Thread thread;
    private final AtomicBoolean librariesWarmed = new AtomicBoolean();

    private StartupWarmup(Thread thread) {
        this.thread = thread;
    }

    /** Starts the warm-up of Helidon on its own daemon thread. */
    static StartupWarmup begin() {
        Thread t = new Thread(() -> quietly(StartupWarmup::helidon), "vllm-router-warmup");
        t.setDaemon(true);
        t.start();
        return new StartupWarmup(t);
    }

    /**
     * Warms Jackson and Micrometer on the calling thread (the first call only), then waits for Helidon's warm-up to
     * end. Never throws.
     */
    void await() {
        if (librariesWarmed.compareAndSet(false, true)) {
            quietly(StartupWarmup::jsonAndMetrics);
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void helidon() {
        GlobalServiceRegistry.registry();
        WebServer.builder().host("127.0.0.1").port(0)
                .routing(r -> r.get("/liveness", (req, res) -> res.status(Status.OK_200).send("OK")))
                .build();
    }

    private static void jsonAndMetrics() throws IOException {
        new ObjectMapper().readTree("{\"object\":\"list\",\"data\":[{\"id\":\"m\"}]}");
        new PrometheusMetrics().scrape();
    }

    private interface Step {
        void run() throws IOException;
    }

    private static void quietly(Step step) {
        try {
            step.run();
        } catch (IOException | RuntimeException | LinkageError e) {
            // only time is lost: the main thread does the same work again and reports any real problem
        }
    }
}
