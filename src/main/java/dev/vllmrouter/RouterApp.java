package dev.vllmrouter;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.config.RouterConfig;
import dev.vllmrouter.health.HealthProbe;
import dev.vllmrouter.health.WorkerWait;
import dev.vllmrouter.metrics.PrometheusMetrics;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.monitor.WorkerMonitor;
import dev.vllmrouter.policy.CacheAwarePolicy;
import dev.vllmrouter.policy.Policy;
import dev.vllmrouter.policy.Policies;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.proxy.FleetCalls;
import dev.vllmrouter.proxy.Forwarder;
import dev.vllmrouter.proxy.HeaderRules;
import dev.vllmrouter.proxy.ModelCatalog;
import dev.vllmrouter.proxy.RequestIds;
import dev.vllmrouter.server.RouterContext;
import dev.vllmrouter.server.RouterServer;
import dev.vllmrouter.upstream.Deadlines;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * Composition root: builds the router from a {@link RouterConfig} (registry → policy → upstream client → pipelines →
 * server) and stops it in the reverse order. Clock and randomness are bound to the real ones only here.
 */
public final class RouterApp implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RouterApp.class.getName());
    /** Timeout of the router's own small calls to workers (/v1/models union, /health, fleet calls). */
    private static final Duration CONTROL_CALL_TIMEOUT = Duration.ofSeconds(10);

    private final RouterConfig config;
    private final WorkerRegistry registry;
    private final UpstreamClient client;
    private final Deadlines deadlines;
    private final RouterMetrics metrics;
    private final WorkerWait workerWait;
    private final WorkerMonitor monitor;
    private final ScheduledExecutorService maintenance;
    private final RouterServer server;

    private RouterApp(RouterConfig config) {
        this.config = config;
        Ticker ticker = Ticker.system();
        RandomSource random = RandomSource.threadLocal();
        registry = new WorkerRegistry(config.dataParallelSize());
        for (WorkerUrl url : config.workers()) {
            registry.add(url);
        }
        Policy policy = Policies.create(config.policy(), random);
        PolicyRuntime policyRuntime = new PolicyRuntime(policy, registry::snapshot);
        client = new UpstreamClient(config.connectTimeout(), config.readTimeout());
        monitor = new WorkerMonitor(registry, client, ticker, config.loadCheckInterval(),
                Policies.isLoadAware(policy.name()));
        maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vllm-router-maintenance");
            t.setDaemon(true);
            return t;
        });
        long evictSeconds = config.policy().evictionInterval().toSeconds();
        if (policy instanceof CacheAwarePolicy cacheAware && evictSeconds > 0) {
            maintenance.scheduleWithFixedDelay(cacheAware::evict, evictSeconds, evictSeconds, TimeUnit.SECONDS);
        }
        deadlines = new Deadlines();
        metrics = new PrometheusMetrics();
        HeaderRules headerRules = new HeaderRules(config.apiKey());
        Forwarder forwarder = new Forwarder(policyRuntime, client, headerRules, deadlines, ticker,
                config.requestTimeout(), config.readTimeout(), config.decisionHeader());
        ModelCatalog models = new ModelCatalog(client, headerRules, CONTROL_CALL_TIMEOUT);
        FleetCalls fleet = new FleetCalls(client, headerRules, registry::snapshot, CONTROL_CALL_TIMEOUT);
        HealthProbe probe = new HealthProbe(client, "/health", Duration.ofSeconds(2));
        workerWait = new WorkerWait(probe, ticker, d -> Thread.sleep(d), config.workerStartupCheckInterval(),
                config.workerStartupTimeout());
        RouterContext ctx = new RouterContext(config, registry, forwarder, models, fleet,
                new RequestIds(config.requestIdHeaders(), random), metrics, workerWait, monitor, ticker);
        server = new RouterServer(ctx);
    }

    /** Builds and starts the router; returns once both listeners accept connections. */
    public static RouterApp start(RouterConfig config) {
        RouterApp app = new RouterApp(config);
        app.monitor.start();
        app.server.start();
        LOG.log(Level.INFO, "vllm-router listening on http://{0}:{1} (policy {2}, {3} workers); "
                        + "Prometheus metrics on http://{4}:{5}/metrics", config.host(), String.valueOf(app.port()),
                config.policy().name(), app.registry.snapshot().workers().size(), config.prometheusHost(),
                String.valueOf(app.metricsPort()));
        return app;
    }

    /**
     * vllm-router's start-up wait: blocks until at least one configured worker answers {@code /health}, polling every
     * {@code --worker-startup-check-interval} for up to {@code --worker-startup-timeout-secs}.
     *
     * @return whether a worker became healthy (the router starts either way)
     */
    public static boolean awaitWorkers(RouterConfig config) {
        if (config.workers().isEmpty()) {
            return true;
        }
        try (UpstreamClient probeClient = new UpstreamClient(Duration.ofSeconds(2), Duration.ofSeconds(2))) {
            WorkerWait wait = new WorkerWait(new HealthProbe(probeClient, "/health", Duration.ofSeconds(2)),
                    Ticker.system(), d -> Thread.sleep(d), config.workerStartupCheckInterval(),
                    config.workerStartupTimeout());
            return wait.awaitAny(config.workers().stream().map(WorkerUrl::base).toList());
        }
    }

    public int port() {
        return server.port();
    }

    public int metricsPort() {
        return server.metricsPort();
    }

    /** {@code http://<host>:<port>} of the router's listener. */
    public String url() {
        String host = config.host().equals("0.0.0.0") ? "127.0.0.1" : config.host();
        return "http://" + host + ":" + port();
    }

    public WorkerRegistry registry() {
        return registry;
    }

    public RouterConfig config() {
        return config;
    }

    WorkerWait workerWait() {
        return workerWait;
    }

    /** The background worker monitor (tests run a round on demand). */
    public WorkerMonitor monitor() {
        return monitor;
    }

    @Override
    public void close() {
        server.stop();
        monitor.close();
        maintenance.shutdownNow();
        deadlines.close();
        client.close();
    }
}
