package dev.vllmrouter.metrics;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * {@link RouterMetrics} on Micrometer's Prometheus registry, used directly so series carry exactly vllm-router's
 * names and labels (reference §8; Helidon's metrics would add a {@code scope} label). Event series (counters,
 * histograms) live here; series that describe the fleet as it is now (per-worker gauges, circuit states) are
 * rendered at scrape time by the {@linkplain #addScrapeSection sections} added by the wiring, so a removed worker's
 * series disappear with it. docs/metrics.md lists every name.
 * <p>Meters are looked up once per label combination and cached; recording is a map look-up and an atomic add.
 * <p>Event series labelled by {@code worker} (decisions, circuit transitions, time to first token, ...) are dropped
 * at the first scrape after their worker left the registry ({@link #liveWorkers}), so a fleet whose workers come and
 * go (Kubernetes rollouts, P2P-NCCL registrations) does not grow the registry and the scrape without end. A request
 * still running on a removed worker may record once more; that series goes at the next scrape.
 */
public final class PrometheusMetrics implements RouterMetrics {
    /** vllm-router's buckets for every {@code *_duration_seconds} histogram (also used for time to first token). */
    static final Duration[] DURATION_BUCKETS = seconds(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
            15, 30, 45, 60, 90, 120, 180, 240);
    /** Inter-token gaps are tens of milliseconds: finer buckets there. */
    static final Duration[] INTER_TOKEN_BUCKETS = seconds(0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05,
            0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5);
    static final String EMBEDDINGS_ROUTE = "/v1/embeddings";

    private record RouteMeters(Counter requests, Timer duration) {
    }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentHashMap<String, RouteMeters> routes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, RouteMeters> pdRoutes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, RouteMeters> typedRoutes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();
    private final List<Supplier<CharSequence>> sections = new CopyOnWriteArrayList<>();
    private final Timer generateDuration;
    private final Timer embeddingsDuration;
    private final Counter embeddings;
    private final AtomicInteger discoveryAdded = new AtomicInteger();
    private final AtomicInteger discoveryRemoved = new AtomicInteger();
    private volatile Supplier<? extends Collection<String>> liveWorkers;

    public PrometheusMetrics() {
        generateDuration = histogram("vllm_router_generate_duration",
                "Time of successful requests on vllm-router's typed routes, to the answer's head", Tags.empty(),
                DURATION_BUCKETS);
        embeddingsDuration = histogram("vllm_router_embeddings_duration", "Time of successful embeddings requests",
                Tags.empty(), DURATION_BUCKETS);
        embeddings = Counter.builder("vllm_router_embeddings").description("Successful embeddings requests")
                .register(registry);
        Gauge.builder("vllm_router_discovery_workers_added", discoveryAdded, AtomicInteger::get)
                .description("Workers added by the last discovery update").register(registry);
        Gauge.builder("vllm_router_discovery_workers_removed", discoveryRemoved, AtomicInteger::get)
                .description("Workers removed by the last discovery update").register(registry);
    }

    /** Adds text in the Prometheus exposition format, rendered at each scrape after the registry's own series. */
    public void addScrapeSection(Supplier<CharSequence> section) {
        sections.add(section);
    }

    @Override
    public void requestDone(String route, int status, String errorType, boolean pd, long nanos, long headNanos) {
        // this router's own view: every request on the main listener, whatever its status
        RouteMeters all = routes.computeIfAbsent(route, r -> routeMeters("vllm_router_http_requests",
                "Requests on the router's listener per route, whatever their status",
                "vllm_router_http_request_duration", "Time from a request's arrival to the end of its answer", r));
        all.requests.increment();
        all.duration.record(nanos, TimeUnit.NANOSECONDS);
        if (errorType != null) {
            counter("vllm_router_http_request_errors", "Requests that ended in an error, by cause", "route", route,
                    "error_type", errorType).increment();
        }
        if (pd) {
            // vllm-router: once per request that got its workers, to the decode answer's head; never in requests_total
            if (!ErrorTypes.NO_AVAILABLE_WORKERS.equals(errorType)) {
                RouteMeters p = pdRoutes.computeIfAbsent(route, r -> routeMeters("vllm_router_pd_requests",
                        "Prefill/decode requests per route", "vllm_router_pd_request_duration",
                        "Time of prefill/decode requests, to the decode answer's head", r));
                p.requests.increment();
                p.duration.record(headNanos, TimeUnit.NANOSECONDS);
            }
            return;
        }
        String typed = VllmRouterSeries.typedRoute(route);
        if (typed == null) {
            return;
        }
        // vllm-router's series: its typed routes, in regular mode, once per request after retries
        if (status >= 200 && status < 300) {
            RouteMeters ok = typedRoutes.computeIfAbsent(typed, r -> routeMeters("vllm_router_requests",
                    "Successful requests on vllm-router's typed routes", "vllm_router_request_duration",
                    "Time of successful requests on vllm-router's typed routes, to the end of the answer", r));
            ok.requests.increment();
            ok.duration.record(nanos, TimeUnit.NANOSECONDS);
            generateDuration.record(headNanos, TimeUnit.NANOSECONDS);
        } else {
            String vllmRouterType = VllmRouterSeries.errorType(status, errorType);
            if (vllmRouterType != null) {
                counter("vllm_router_request_errors", "Failed requests on vllm-router's typed routes, by cause",
                        "route", typed, "error_type", vllmRouterType).increment();
            }
        }
        if (typed.equals(EMBEDDINGS_ROUTE)) {
            if (status >= 200 && status < 300) {
                embeddings.increment();
                embeddingsDuration.record(nanos, TimeUnit.NANOSECONDS);
            } else if (VllmRouterSeries.dispatched(errorType)) {
                counter("vllm_router_embeddings_errors", "Embeddings requests that failed, by status", "error_type",
                        "http_" + status).increment();
            }
        }
    }

    @Override
    public void retry(String route, String phase, int attempt, long backoffNanos) {
        counter("vllm_router_upstream_retries", "Retries of every upstream call (each backoff), by route and phase",
                "route", route, "phase", phase).increment();
        String typed = VllmRouterSeries.typedRoute(route);
        if (typed == null || !phase.equals("inference")) {
            return; // vllm-router retries its typed routes only, and never a prefill/decode leg
        }
        counter("vllm_router_retries", "Retries of requests on vllm-router's typed routes (each backoff)", "route",
                typed).increment();
        timers.computeIfAbsent("backoff|" + attempt, k -> histogram("vllm_router_retry_backoff_duration",
                        "Wait before a retry, by the attempt that failed", Tags.of("attempt", String.valueOf(attempt)),
                        DURATION_BUCKETS))
                .record(backoffNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void retriesExhausted(String route, String phase) {
        counter("vllm_router_upstream_retries_exhausted", "Upstream calls whose every allowed attempt failed, by "
                + "route and phase", "route", route, "phase", phase).increment();
        String typed = VllmRouterSeries.typedRoute(route);
        if (typed != null && phase.equals("inference")) {
            counter("vllm_router_retries_exhausted", "Requests on vllm-router's typed routes whose every allowed "
                    + "attempt failed", "route", typed).increment();
        }
    }

    @Override
    public void decision(String policy, String worker, String reason) {
        counter("vllm_router_policy_decisions", "Routing decisions per policy and worker", "policy", policy,
                "worker", worker).increment();
        counter("vllm_router_policy_decision_reasons", "Routing decisions per policy and reason", "policy", policy,
                "reason", reason).increment();
        if (policy.equals("cache_aware")) {
            if (reason.equals("prefix_match")) {
                counter("vllm_router_cache_hits", "cache_aware decisions that followed a cached prefix").increment();
            } else {
                counter("vllm_router_cache_misses", "cache_aware decisions without a usable cached prefix")
                        .increment();
                if (reason.equals("load_balance")) {
                    counter("vllm_router_load_balancing_events", "cache_aware decisions made for balance")
                            .increment();
                }
            }
        }
    }

    @Override
    public void circuitTransition(String worker, String from, String to) {
        counter("vllm_router_cb_state_transitions", "Circuit breaker state changes", "worker", worker, "from", from,
                "to", to).increment();
    }

    @Override
    public void admissionRejected(String reason) {
        counter("vllm_router_admission_rejected", "Requests admission control turned away", "reason", reason)
                .increment();
    }

    @Override
    public void firstToken(String worker, long nanos) {
        timer("ttft|" + worker, k -> histogram("vllm_router_time_to_first_token",
                "Time from sending a streamed request to a worker to its first event", Tags.of("worker", worker),
                DURATION_BUCKETS)).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void interToken(String worker, long nanos) {
        timer("itl|" + worker, k -> histogram("vllm_router_inter_token_latency",
                "Time between two events of a stream from a worker", Tags.of("worker", worker),
                INTER_TOKEN_BUCKETS)).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void streamError(String worker, boolean pd) {
        if (pd) {
            counter("vllm_router_pd_stream_errors", "Decode streams that broke off after they started", "worker",
                    worker).increment();
        } else {
            counter("vllm_router_stream_errors", "Streams that broke off after they started", "worker", worker)
                    .increment();
        }
    }

    @Override
    public void pdPrefill(String worker, boolean ok) {
        // vllm-router: a prefill that let the request go on to its decode, or one that failed
        if (ok) {
            counter("vllm_router_pd_prefill_requests", "Prefill stages per worker that succeeded", "worker", worker)
                    .increment();
        } else {
            counter("vllm_router_pd_prefill_errors", "Prefill stages that failed", "worker", worker).increment();
        }
    }

    @Override
    public void pdDecode(String worker, int status) {
        // vllm-router: a decode that answered (any status); an error when it did not, or not with a 2xx
        if (status != 0) {
            counter("vllm_router_pd_decode_requests", "Decode stages per worker that answered", "worker", worker)
                    .increment();
        }
        if (status < 200 || status >= 300) {
            counter("vllm_router_pd_decode_errors", "Decode stages that failed or answered an error", "worker",
                    worker).increment();
        }
    }

    @Override
    public void pdError(String errorType) {
        // vllm-router has one value for "no prefill or no decode worker": server_selection
        counter("vllm_router_pd_errors", "Prefill/decode requests that failed before a worker", "error_type",
                "server_selection").increment();
    }

    @Override
    public void discoveryUpdate(int added, int removed) {
        counter("vllm_router_discovery_updates", "Updates published by discovery sources").increment();
        discoveryAdded.set(added);
        discoveryRemoved.set(removed);
    }

    /** The ids of the registered workers now: series of any other worker are dropped at scrape time. */
    public void liveWorkers(Supplier<? extends Collection<String>> ids) {
        this.liveWorkers = ids;
    }

    @Override
    public String scrape() {
        Supplier<? extends Collection<String>> live = liveWorkers;
        if (live != null) {
            forgetDepartedWorkers(live);
        }
        StringBuilder out = new StringBuilder(registry.scrape());
        for (Supplier<CharSequence> section : sections) {
            out.append(section.get());
        }
        return out.toString();
    }

    private void forgetDepartedWorkers(Supplier<? extends Collection<String>> live) {
        Set<String> before = Set.copyOf(live.get());
        List<Meter> departed = new java.util.ArrayList<>();
        for (Meter meter : registry.getMeters()) {
            String worker = meter.getId().getTag("worker");
            if (worker != null && !before.contains(worker)) {
                departed.add(meter);
            }
        }
        if (departed.isEmpty()) {
            return;
        }
        Set<String> now = Set.copyOf(live.get()); // a worker that came back meanwhile keeps its series
        for (Meter meter : departed) {
            if (!now.contains(meter.getId().getTag("worker"))) {
                // registry first: until the cache entry goes, a late recording lands on the removed meter (lost,
                // harmless); after, the next one registers a fresh meter that the registry keeps
                registry.remove(meter);
                counters.values().remove(meter);
                timers.values().remove(meter);
            }
        }
    }

    private RouteMeters routeMeters(String counterName, String counterHelp, String timerName, String timerHelp,
                                    String route) {
        Counter requests = Counter.builder(counterName).description(counterHelp).tag("route", route)
                .register(registry);
        Timer duration = histogram(timerName, timerHelp, Tags.of("route", route), DURATION_BUCKETS);
        return new RouteMeters(requests, duration);
    }

    /** The counter {@code name} with the given label pairs, created on first use. */
    private Counter counter(String name, String help, String... labels) {
        String key = key(name, labels);
        Counter c = counters.get(key);
        if (c == null) {
            c = counters.computeIfAbsent(key, k -> Counter.builder(name).description(help).tags(labels)
                    .register(registry));
        }
        return c;
    }

    private Timer timer(String key, Function<String, Timer> make) {
        Timer t = timers.get(key);
        return t != null ? t : timers.computeIfAbsent(key, make);
    }

    private Timer histogram(String name, String help, Tags tags, Duration[] buckets) {
        return Timer.builder(name).description(help).tags(tags).serviceLevelObjectives(buckets).register(registry);
    }

    private static String key(String name, String... labels) {
        if (labels.length == 0) {
            return name;
        }
        StringBuilder sb = new StringBuilder(name);
        for (String l : labels) {
            sb.append('|').append(l);
        }
        return sb.toString();
    }

    private static Duration[] seconds(double... values) {
        Duration[] d = new Duration[values.length];
        for (int i = 0; i < values.length; i++) {
            d[i] = Duration.ofNanos(Math.round(values[i] * 1e9));
        }
        return d;
    }
}
