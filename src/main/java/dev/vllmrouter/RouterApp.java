package dev.vllmrouter;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.kubernetes.client.openapi.ApiClient;

import dev.vllmrouter.admission.AdmissionGate;
import dev.vllmrouter.auth.Authenticator;
import dev.vllmrouter.auth.KeyValidator;
import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.config.ConfigException;
import dev.vllmrouter.config.TokenizerConfig;
import dev.vllmrouter.config.HealthConfig;
import dev.vllmrouter.config.PdConfig;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.config.RouterConfig;
import dev.vllmrouter.discovery.MoriioFleet;
import dev.vllmrouter.discovery.ZmqDiscovery;
import dev.vllmrouter.discovery.k8s.DiscoveryListener;
import dev.vllmrouter.discovery.k8s.KubernetesDiscovery;
import dev.vllmrouter.fault.CircuitBreaker;
import dev.vllmrouter.fault.CircuitBreakerConfig;
import dev.vllmrouter.health.HealthChecker;
import dev.vllmrouter.health.HealthProbe;
import dev.vllmrouter.health.WorkerWait;
import dev.vllmrouter.kvevents.KvEventGauges;
import dev.vllmrouter.kvevents.KvEventSubscriber;
import dev.vllmrouter.kvevents.PredictionCheck;
import dev.vllmrouter.kvevents.SourceState;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.metrics.FleetGauges;
import dev.vllmrouter.metrics.PrometheusMetrics;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.monitor.WorkerMonitor;
import dev.vllmrouter.pd.MooncakeBootstrap;
import dev.vllmrouter.pd.PdForwarder;
import dev.vllmrouter.policy.CacheAwarePolicy;
import dev.vllmrouter.policy.KvAwarePolicy;
import dev.vllmrouter.policy.Policies;
import dev.vllmrouter.policy.Policy;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.proxy.AnswerRelay;
import dev.vllmrouter.proxy.FleetCalls;
import dev.vllmrouter.proxy.Forwarder;
import dev.vllmrouter.proxy.HeaderRules;
import dev.vllmrouter.proxy.ModelCatalog;
import dev.vllmrouter.proxy.RequestIds;
import dev.vllmrouter.proxy.Sleeper;
import dev.vllmrouter.server.Drain;
import dev.vllmrouter.server.RouterContext;
import dev.vllmrouter.server.RouterServer;
import dev.vllmrouter.tokenize.PromptTokenizers;
import dev.vllmrouter.worker.ModelAdapters;
import dev.vllmrouter.tokenize.TokenizerLoadException;
import dev.vllmrouter.tracing.Tracing;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;
import dev.vllmrouter.worker.WorkerSpec;

/**
 * Composition root: builds the router from a {@link RouterConfig} (registry → policy → upstream client → pipelines →
 * server) and stops it in the reverse order. Clock and randomness are bound to the real ones only here.
 */
public final class RouterApp implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RouterApp.class.getName());
    /** Timeout of the router's own small calls to workers (/v1/models union, /health, fleet calls). */
    private static final Duration CONTROL_CALL_TIMEOUT = Duration.ofSeconds(10);
    /** Mooncake bootstrap queries at start-up before giving up (vllm-router: 30, ~4.5 min). */
    private static final int MOONCAKE_ATTEMPTS = 30;

    private final RouterConfig config;
    private final WorkerRegistry registry;
    private final UpstreamClient client;
    private final RouterMetrics metrics;
    /** The cache_aware policy instances (regular, or a PD stage's), whose tree sizes metrics report. */
    private final List<CacheAwarePolicy> cacheAware = new java.util.ArrayList<>();
    private final WorkerWait workerWait;
    private final WorkerMonitor monitor;
    private final ScheduledExecutorService maintenance;
    private final RouterServer server;
    private ZmqDiscovery discovery;
    private KubernetesDiscovery kubernetes;
    private final HealthChecker healthChecker;
    /** The KV-event subscriber and its index, or {@code null} without {@code --kv-events-port}. */
    private final KvEventSubscriber kvEvents;
    /** The closed loop of routing with the index, or {@code null} without {@code --kv-events-port}. */
    private final PredictionCheck predictionCheck;
    private final Drain drain = new Drain();
    private final AdmissionGate admission;
    private final Tracing tracing;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Router-side tokenization (--tokenizer-path): prompt token ids for routing with the KV-event index. */
    private final PromptTokenizers tokenizers;

    /** @param kubeClient the Kubernetes API client for {@code --service-discovery}; {@code null}: in-cluster config or KUBECONFIG */
    private RouterApp(RouterConfig config, ApiClient kubeClient) {
        this.config = config;
        tokenizers = tokenizers(config.tokenizers());
        ModelAdapters adapters = new ModelAdapters();
        Ticker ticker = Ticker.system();
        RandomSource random = RandomSource.threadLocal();
        PrometheusMetrics prometheus = new PrometheusMetrics();
        metrics = prometheus;
        CircuitBreakerConfig breakerConfig = config.circuitBreaker();
        registry = new WorkerRegistry(config.dataParallelSize(), id -> new CircuitBreaker(breakerConfig, ticker,
                (from, to) -> {
                    LOG.log(to == CircuitBreaker.State.CLOSED ? Level.INFO : Level.WARNING,
                            "worker {0}: circuit {1} -> {2}", id, from, to);
                    metrics.circuitTransition(id, stateName(from), stateName(to));
                }));
        for (WorkerUrl url : config.workers()) {
            registry.add(url);
        }
        PdConfig pd = config.pd();
        if (pd != null) {
            for (PdConfig.Prefill p : pd.prefill()) {
                registry.add(new WorkerSpec(p.url(), Role.PREFILL, p.bootstrapPort(), null), null, "static");
            }
            for (WorkerUrl url : pd.decode()) {
                registry.add(new WorkerSpec(url, Role.DECODE, -1, null), null, "static");
            }
        }
        maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vllm-router-maintenance");
            t.setDaemon(true);
            return t;
        });
        kvEvents = config.kvEvents() == null ? null : new KvEventSubscriber(config.kvEvents(), registry::snapshot,
                new KvIndex(ticker, config.kvEvents().maxBlocks()), ticker);
        predictionCheck = kvEvents == null ? null : new PredictionCheck(kvEvents::demote);
        // every instance its own state: vllm-router shares one instance between the stages by accident
        Policy policy = kvEvents == null ? policy(config.policy(), random)
                : policy(config.policy(), random, kvEvents.index(), kvEvents::state);
        PolicyRuntime policyRuntime = new PolicyRuntime(policy, registry::snapshot);
        client = new UpstreamClient(config.connectTimeout(), config.readTimeout(),
                WorkerTls.socketFactory(config.workerTls()));
        // a client's key for the router is not a key for the workers: --api-key is
        // PD workers: --api-key, else OPENAI_API_KEY (as vllm-router's PD legs)
        HeaderRules headerRules = new HeaderRules(pd != null ? pd.workerApiKey() : config.apiKey(),
                config.auth().clientAuth() || config.auth().adminKey() != null);
        Sleeper sleeper = d -> Thread.sleep(d);
        boolean byIndex = policy instanceof KvAwarePolicy;
        Forwarder forwarder = new Forwarder(policyRuntime, client, headerRules, ticker,
                config.requestTimeout(), config.readTimeout(), config.decisionHeader(), config.retry(), random,
                sleeper, Clock.systemUTC(), metrics, byIndex && !tokenizers.isEmpty() ? new TokenizedPrompts(tokenizers, adapters)
                        : null, byIndex ? predictionCheck::observed : null);
        if (byIndex && tokenizers.isEmpty()) {
            LOG.log(Level.WARNING, "--kv-events-port without --tokenizer-path: the router cannot compute prompt "
                    + "token ids, so cache_aware routes with its approximate tree (the index is kept and reported)");
        }
        boolean loadAware = Policies.isLoadAware(policy.name());
        PdForwarder pdForwarder = null;
        if (pd != null) {
            // prefill workers are subscribed to: their stage's cache_aware routes with the index like the main policy
            Policy prefillPolicy = kvEvents == null ? policy(pd.prefillPolicy(), random)
                    : policy(pd.prefillPolicy(), random, kvEvents.index(), kvEvents::state);
            boolean prefillByIndex = prefillPolicy instanceof KvAwarePolicy && !tokenizers.isEmpty();
            Policy decodePolicy = policy(pd.decodePolicy(), random);
            loadAware |= Policies.isLoadAware(prefillPolicy.name()) || Policies.isLoadAware(decodePolicy.name());
            MooncakeBootstrap mooncake = pd.mooncake()
                    ? new MooncakeBootstrap(client, d -> Thread.sleep(d), MOONCAKE_ATTEMPTS) : null;
            MoriioFleet moriio = pd.moriio() ? new MoriioFleet() : null;
            pdForwarder = new PdForwarder(new PolicyRuntime(prefillPolicy, () -> registry.snapshot(Role.PREFILL)),
                    new PolicyRuntime(decodePolicy, () -> registry.snapshot(Role.DECODE)), client, headerRules,
                    new AnswerRelay(ticker, metrics, true), ticker, random, mooncake, moriio,
                    config.requestTimeout(), config.readTimeout(), config.decisionHeader(), config.retry(), sleeper,
                    metrics, prefillByIndex ? new TokenizedPrompts(tokenizers, adapters) : null);
            if (mooncake != null) {
                registry.snapshot(Role.PREFILL).workers().forEach(mooncake::await);
            }
            if (pd.discoveryAddress() != null) {
                try {
                    discovery = new ZmqDiscovery(pd.discoveryAddress(), registry, ticker, metrics, moriio);
                } catch (RuntimeException e) {
                    throw new IllegalStateException("--vllm-discovery-address: cannot bind tcp://"
                            + pd.discoveryAddress() + ": " + e.getMessage(), e);
                }
            }
        }
        if (config.kubernetes() != null) {
            try {
                DiscoveryListener listener = new DiscoveryListener() {
                    @Override
                    public void updated(int added, int removed, int workers) {
                        metrics.discoveryUpdate(added, removed);
                    }
                };
                kubernetes = kubeClient == null ? new KubernetesDiscovery(config.kubernetes(), registry, listener)
                        : new KubernetesDiscovery(config.kubernetes(), registry, kubeClient, listener);
            } catch (java.io.IOException e) {
                throw new ConfigException("--service-discovery: no Kubernetes API access (in-cluster service "
                        + "account or KUBECONFIG): " + e.getMessage());
            }
        }
        monitor = new WorkerMonitor(registry, client, ticker, config.loadCheckInterval(), loadAware,
                pd != null ? pd.workerApiKey() : config.apiKey(), adapters);
        HealthConfig hc = config.health();
        healthChecker = new HealthChecker(registry, new HealthProbe(client, hc.endpoint(), hc.timeout()),
                hc.failureThreshold(), hc.successThreshold(), hc.interval(), hc.timeout());
        ModelCatalog models = new ModelCatalog(client, headerRules, CONTROL_CALL_TIMEOUT);
        FleetCalls fleet = new FleetCalls(client, headerRules, registry::snapshot, CONTROL_CALL_TIMEOUT);
        HealthProbe probe = new HealthProbe(client, "/health", Duration.ofSeconds(2));
        workerWait = new WorkerWait(probe, ticker, d -> Thread.sleep(d), config.workerStartupCheckInterval(),
                config.workerStartupTimeout());
        try {
            tracing = Tracing.create(config.tracing());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("tracing: " + e.getMessage());
        }
        admission = new AdmissionGate(config.admission().maxConcurrentRequests(), config.admission().queueSize(),
                config.admission().queueTimeout(), ticker);
        if (kvEvents != null) {
            prometheus.addScrapeSection(new KvEventGauges(kvEvents, predictionCheck));
        }
        prometheus.liveWorkers(() -> registry.snapshot().workers().stream().map(Worker::id).toList());
        prometheus.addScrapeSection(new FleetGauges(registry::snapshot, admission,
                cacheAware.isEmpty() ? null : id -> cacheAware.stream().mapToLong(p -> p.treeChars(id)).sum()));
        RouterContext ctx = new RouterContext(config, registry, forwarder, pdForwarder, models, fleet,
                new RequestIds(config.requestIdHeaders(), random), metrics, workerWait, monitor, ticker,
                RouterServer.connections(maintenance, config),
                admission, drain, new Authenticator(config.auth(), config.auth().validationUrls().isEmpty() ? null
                        : new KeyValidator(config.auth().validationUrls(), config.auth().cacheTtl(),
                                KeyValidator.http(Duration.ofSeconds(5)), ticker)), tracing, kvEvents);
        prometheus.addScrapeSection(ctx.connections()::metricsText);
        server = new RouterServer(ctx);
    }

    private static PromptTokenizers tokenizers(TokenizerConfig tc) {
        if (tc.isEmpty()) {
            return PromptTokenizers.none();
        }
        try {
            PromptTokenizers loaded = PromptTokenizers.load(tc.defaultPath(), tc.perModel(), Clock.systemDefaultZone());
            LOG.log(Level.INFO, "router-side tokenization: {0} tokenizer(s) from --tokenizer-path", loaded.size());
            return loaded;
        } catch (TokenizerLoadException e) {
            throw new ConfigException("--tokenizer-path: " + e.getMessage());
        }
    }

    /** The router's tokenizers per model (empty without --tokenizer-path). */
    public PromptTokenizers tokenizers() {
        return tokenizers;
    }

    /** A policy instance; cache_aware ones get their tree trimmed every {@code --eviction-interval}. */
    private Policy policy(PolicyConfig policyConfig, RandomSource random) {
        return policy(policyConfig, random, null, null);
    }

    /** As {@link #policy(PolicyConfig, RandomSource)}; cache_aware routes with {@code index} when it is given. */
    private Policy policy(PolicyConfig policyConfig, RandomSource random, KvIndex index,
                          java.util.function.Function<String, SourceState> states) {
        Policy policy = Policies.create(policyConfig, random, index, states);
        long evictSeconds = policyConfig.evictionInterval().toSeconds();
        CacheAwarePolicy withTree = policy instanceof KvAwarePolicy kv ? kv.tree()
                : policy instanceof CacheAwarePolicy ca ? ca : null;
        if (withTree != null) {
            CacheAwarePolicy tree = withTree;
            cacheAware.add(tree);
            if (evictSeconds > 0) {
                maintenance.scheduleWithFixedDelay(tree::evict, evictSeconds, evictSeconds, TimeUnit.SECONDS);
            }
        }
        return policy;
    }

    private static String stateName(CircuitBreaker.State state) {
        return state.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Builds and starts the router; returns once both listeners accept connections. */
    public static RouterApp start(RouterConfig config) {
        return start(config, null);
    }

    /** As {@link #start(RouterConfig)}, with the Kubernetes API client discovery uses (tests: a stand-in server). */
    public static RouterApp start(RouterConfig config, ApiClient kubeClient) {
        RouterApp app = new RouterApp(config, kubeClient);
        if (app.discovery != null) {
            app.discovery.start();
        }
        if (app.kubernetes != null) {
            app.kubernetes.start();
        }
        app.monitor.start();
        app.healthChecker.start();
        if (app.kvEvents != null) {
            app.kvEvents.start();
        }
        try {
            app.server.start();
        } catch (RuntimeException e) {
            app.close();
            throw e;
        }
        LOG.log(Level.INFO, "vllm-router listening on {6}://{0}:{1} ({2}, {3} workers); "
                        + "Prometheus metrics on http://{4}:{5}/metrics", config.host(), String.valueOf(app.port()),
                config.isPd() ? "prefill/decode, " + config.pd().kvConnector() + ", prefill policy "
                        + config.pd().prefillPolicy().name() + ", decode policy " + config.pd().decodePolicy().name()
                        : "policy " + config.policy().name(),
                app.registry.snapshot().workers().size(), config.prometheusHost(), String.valueOf(app.metricsPort()),
                config.tlsCertPath() != null ? "https" : "http");
        return app;
    }

    /**
     * vllm-router's start-up wait: blocks until at least one configured worker answers {@code /health}, polling every
     * {@code --worker-startup-check-interval} for up to {@code --worker-startup-timeout-secs}.
     *
     * @return whether a worker became healthy (the router starts either way)
     */
    public static boolean awaitWorkers(RouterConfig config) {
        List<String> bases = new java.util.ArrayList<>(config.workers().stream().map(WorkerUrl::base).toList());
        if (config.isPd()) {
            config.pd().prefill().forEach(p -> bases.add(p.url().base()));
            config.pd().decode().forEach(d -> bases.add(d.base()));
        }
        if (bases.isEmpty()) {
            return true;
        }
        try (UpstreamClient probeClient = new UpstreamClient(Duration.ofSeconds(2), Duration.ofSeconds(2),
                WorkerTls.socketFactory(config.workerTls()))) {
            WorkerWait wait = new WorkerWait(new HealthProbe(probeClient, "/health", Duration.ofSeconds(2)),
                    Ticker.system(), d -> Thread.sleep(d), config.workerStartupCheckInterval(),
                    config.workerStartupTimeout());
            return wait.awaitAny(bases);
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
        return (config.tlsCertPath() != null ? "https://" : "http://") + host + ":" + port();
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

    /** The background health checker (tests run a round on demand). */
    public HealthChecker healthChecker() {
        return healthChecker;
    }

    /** The KV-event subscriber and its index, or {@code null} when {@code --kv-events-port} is not given. */
    public KvEventSubscriber kvEvents() {
        return kvEvents;
    }

    /** The background worker monitor (tests run a round on demand). */
    public WorkerMonitor monitor() {
        return monitor;
    }

    /**
     * Graceful stop (SIGTERM): readiness turns 503 and new generation requests are refused with 503, running ones get
     * up to {@code --shutdown-grace-period-secs} to finish, then the router closes.
     *
     * @return the requests still running when the grace period ended (cut by the close)
     */
    public int shutdown() {
        Duration grace = config.admission().shutdownGracePeriod();
        drain.start();
        LOG.log(Level.INFO, "shutting down: waiting up to {0} s for {1} running requests",
                grace.toSeconds(), drain.active());
        int left = drain.active();
        try {
            left = drain.awaitIdle(grace);
            if (left > 0) {
                LOG.log(Level.WARNING, "{0} requests still running after the grace period; closing them", left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
        return left;
    }

    /** The admission gate of generation requests. */
    public AdmissionGate admission() {
        return admission;
    }

    /** The drain state (tests start a drain without stopping the JVM). */
    public Drain drain() {
        return drain;
    }

    /** Stops at once: running requests are cut. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (kubernetes != null) {
            kubernetes.close();
        }
        server.stop();
        tracing.close();
        if (discovery != null) {
            discovery.close();
        }
        monitor.close();
        healthChecker.close();
        if (kvEvents != null) {
            kvEvents.close();
        }
        maintenance.shutdownNow();
        client.close();
        tokenizers.close();
    }
}
