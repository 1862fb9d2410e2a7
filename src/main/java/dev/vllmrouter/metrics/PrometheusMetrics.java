package dev.vllmrouter.metrics;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * {@link RouterMetrics} on Micrometer's Prometheus registry, used directly so series carry exactly vllm-router's
 * names and labels (reference §8; Helidon's metrics would add a {@code scope} label). Meters are looked up once per
 * route and cached.
 * <ul>
 *   <li>{@code vllm_router_requests_total{route}}: every client request that reached a route, whatever its status;</li>
 *   <li>{@code vllm_router_request_duration_seconds{route}}: histogram, vllm-router's buckets (1 ms … 240 s), from
 *       the request's arrival to the end of its answer (stream end included).</li>
 * </ul>
 */
public final class PrometheusMetrics implements RouterMetrics {
    /** vllm-router's buckets for every {@code *_duration_seconds} histogram. */
    static final Duration[] DURATION_BUCKETS = seconds(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
            15, 30, 45, 60, 90, 120, 180, 240);

    private record RouteMeters(Counter requests, Timer duration) {
    }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentHashMap<String, RouteMeters> routes = new ConcurrentHashMap<>();

    @Override
    public void requestDone(String route, int status, long nanos) {
        RouteMeters m = routes.computeIfAbsent(route, this::newRouteMeters);
        m.requests.increment();
        m.duration.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public String scrape() {
        return registry.scrape();
    }

    private RouteMeters newRouteMeters(String route) {
        Counter requests = Counter.builder("vllm_router_requests")
                .description("Client requests per route")
                .tag("route", route)
                .register(registry);
        Timer duration = Timer.builder("vllm_router_request_duration")
                .description("Time from a request's arrival to the end of its answer")
                .tag("route", route)
                .serviceLevelObjectives(DURATION_BUCKETS)
                .register(registry);
        return new RouteMeters(requests, duration);
    }

    private static Duration[] seconds(double... values) {
        Duration[] d = new Duration[values.length];
        for (int i = 0; i < values.length; i++) {
            d[i] = Duration.ofNanos(Math.round(values[i] * 1e9));
        }
        return d;
    }
}
