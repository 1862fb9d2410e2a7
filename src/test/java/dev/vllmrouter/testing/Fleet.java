package dev.vllmrouter.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import dev.vllmrouter.RouterApp;
import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;

/**
 * A router on a free port in front of simulated vLLM workers, all in-process on loopback, for integration tests.
 * Closing it stops everything.
 */
public final class Fleet implements AutoCloseable {
    private final List<SimWorker> workers;
    private final RouterApp router;
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private Fleet(List<SimWorker> workers, RouterApp router) {
        this.workers = workers;
        this.router = router;
    }

    /** {@code n} workers serving model {@code demo}, router with the given extra flags. */
    public static Fleet start(int n, String... routerFlags) {
        return start(n, b -> { }, routerFlags);
    }

    /** {@code n} workers built from the default config as changed by {@code sim}, router with extra flags. */
    public static Fleet start(int n, Consumer<SimConfig.Builder> sim, String... routerFlags) {
        List<SimWorker> workers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SimConfig.Builder b = SimConfig.builder().workerId("sim-" + i);
            sim.accept(b);
            workers.add(SimWorker.start(b.build()));
        }
        return withWorkers(workers, routerFlags);
    }

    /** A router in front of already started workers (closed with the fleet). */
    public static Fleet withWorkers(List<SimWorker> workers, String... routerFlags) {
        List<String> args = new ArrayList<>(List.of("--port", "0", "--prometheus-port", "0"));
        Collections.addAll(args, routerFlags);
        if (!workers.isEmpty()) {
            args.add("--worker-urls");
            workers.forEach(w -> args.add(w.url()));
        }
        RouterApp router = RouterApp.start(RouterCli.parse(Map.of(), args.toArray(String[]::new)));
        return new Fleet(List.copyOf(workers), router);
    }

    public RouterApp router() {
        return router;
    }

    public SimWorker worker(int i) {
        return workers.get(i);
    }

    public List<SimWorker> workers() {
        return workers;
    }

    public String url(String path) {
        return router.url() + path;
    }

    public HttpClient http() {
        return http;
    }

    /** POSTs {@code json} to {@code path} on the router. */
    public HttpResponse<String> post(String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(url(path)))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    public HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(url(path))).GET().build());
    }

    public HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The router's Prometheus exposition. */
    public String metrics() {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.metricsPort() + "/metrics"))
                .GET().build()).body();
    }

    /** Sum of the router's in-flight counts over all workers. */
    public int routerInFlight() {
        return router.registry().snapshot().workers().stream().mapToInt(w -> w.inFlight()).sum();
    }

    /** Waits until every lease the router holds is released (in-flight back to 0 on every worker). */
    public void awaitRouterIdle() {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> routerInFlight() == 0);
    }

    @Override
    public void close() {
        router.close();
        workers.forEach(SimWorker::close);
    }
}
