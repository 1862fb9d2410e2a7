package dev.vllmrouter.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.discovery.k8s.KubernetesDiscoveryConfig;
import dev.vllmrouter.fault.CircuitBreakerConfig;
import dev.vllmrouter.fault.RetryConfig;
import dev.vllmrouter.kvevents.KvEventsConfig;
import dev.vllmrouter.tracing.TracingConfig;

import static dev.vllmrouter.config.ConfigException.require;

/**
 * The validated, immutable settings of one router. Built once at start by {@link #from}; every value has been
 * checked, so the rest of the program never re-validates.
 *
 * @param readTimeout       longest silence while reading a worker's answer (inter-token gap when streaming)
 * @param clientBodyTimeout longest pause while a client sends its request body
 * @param clientWriteTimeout longest a write to a client may stay blocked
 * @param clientListener    the client listener's connection cap, head and idle limits, TLS cipher suites
 */
public record RouterConfig(
        String host,
        int port,
        List<WorkerUrl> workers,
        PolicyConfig policy,
        int dataParallelSize,
        List<String> requestIdHeaders,
        long maxPayloadSize,
        Duration requestTimeout,
        Duration connectTimeout,
        Duration readTimeout,
        String prometheusHost,
        int prometheusPort,
        String apiKey,
        String logLevel,
        Path logDir,
        Duration workerStartupTimeout,
        Duration workerStartupCheckInterval,
        Duration loadCheckInterval,
        boolean decisionHeader,
        PdConfig pd,
        HealthConfig health,
        AdmissionConfig admission,
        RetryConfig retry,
        CircuitBreakerConfig circuitBreaker,
        Duration clientBodyTimeout,
        Duration clientWriteTimeout,
        AuthConfig auth,
        List<String> corsAllowedOrigins,
        boolean logJson,
        boolean requestLog,
        Path tlsCertPath,
        Path tlsKeyPath,
        WorkerTlsConfig workerTls,
        TracingConfig tracing,
        KubernetesDiscoveryConfig kubernetes,
        ClientListenerConfig clientListener,
        KvEventsConfig kvEvents,
        TokenizerConfig tokenizers) {

    /** The request-id headers vllm-router reads when {@code --request-id-headers} is not given. */
    public static final List<String> DEFAULT_REQUEST_ID_HEADERS =
            List.of("x-request-id", "x-correlation-id", "x-trace-id", "request-id");

    /** The policies of vllm-router's CLI. */
    public static final List<String> KNOWN_POLICIES =
            List.of("cache_aware", "round_robin", "random", "power_of_two", "consistent_hash", "rendezvous_hash");

    private static final Set<String> LOG_LEVELS =
            Set.of("trace", "debug", "info", "warn", "warning", "error", "critical", "off");

    public RouterConfig {
        workers = List.copyOf(workers);
        requestIdHeaders = List.copyOf(requestIdHeaders);
    }

    /**
     * Validates parsed options.
     *
     * @param parsed   which flags were given on the command line
     * @param settings where non-CLI values came from
     * @throws ConfigException naming the flag and what is expected
     */
    public static RouterConfig from(RouterOptions o, GivenFlags parsed, SettingsSource settings) {
        for (String name : RouterOptions.NOT_SUPPORTED_YET) {
            String longest = parsed.longestName(name);
            if (longest == null) {
                throw new IllegalStateException("unknown option in NOT_SUPPORTED_YET: " + name);
            }
            if (parsed.onCommandLine(name) || settings.supplied().contains(longest)) {
                throw new ConfigException("not supported yet: " + name
                        + (parsed.onCommandLine(name) ? "" : " (set in " + settings.origin(name) + ")"));
            }
        }
        AcceptedFlags.validate(o);
        String policy = o.policy.trim().toLowerCase(Locale.ROOT);
        if (!KNOWN_POLICIES.contains(policy)) {
            throw new ConfigException("--policy: '" + o.policy + "' (expected one of " + KNOWN_POLICIES + ")");
        }
        require(o.cacheThreshold >= 0 && o.cacheThreshold <= 1,
                "--cache-threshold: " + o.cacheThreshold + " (expected 0..1)");
        require(o.balanceAbsThreshold >= 0, "--balance-abs-threshold: " + o.balanceAbsThreshold + " (expected >= 0)");
        require(o.balanceRelThreshold >= 1,
                "--balance-rel-threshold: " + o.balanceRelThreshold + " (expected >= 1)");
        require(o.evictionInterval >= 0, "--eviction-interval: " + o.evictionInterval + " (expected >= 0)");
        require(o.maxTreeSize > 0, "--max-tree-size: " + o.maxTreeSize + " (expected > 0)");
        require(o.loadCheckIntervalSecs >= 0.01 && o.loadCheckIntervalSecs <= 86_400,
                "--load-check-interval-secs: " + o.loadCheckIntervalSecs + " (expected 0.01 to 86400)");
        PolicyConfig policyConfig = new PolicyConfig(policy, o.cacheThreshold, o.balanceAbsThreshold,
                o.balanceRelThreshold, Duration.ofSeconds(o.evictionInterval), o.maxTreeSize);
        PdConfig pd = PdFlags.from(o, parsed, policyConfig, settings);
        require(o.healthCheckIntervalSecs > 0,
                "--health-check-interval-secs: " + o.healthCheckIntervalSecs + " (expected > 0)");
        require(o.healthCheckTimeoutSecs > 0,
                "--health-check-timeout-secs: " + o.healthCheckTimeoutSecs + " (expected > 0)");
        require(o.healthFailureThreshold >= 1,
                "--health-failure-threshold: " + o.healthFailureThreshold + " (expected >= 1)");
        require(o.healthSuccessThreshold >= 1,
                "--health-success-threshold: " + o.healthSuccessThreshold + " (expected >= 1)");
        String endpoint = o.healthCheckEndpoint.trim();
        require(endpoint.startsWith("/") && endpoint.chars().noneMatch(c -> c <= 0x20 || c >= 0x7f),
                "--health-check-endpoint: '" + o.healthCheckEndpoint + "' (expected a path such as /health)");
        require(o.maxConcurrentRequests >= 1,
                "--max-concurrent-requests: " + o.maxConcurrentRequests + " (expected >= 1)");
        require(o.queueSize >= 0, "--queue-size: " + o.queueSize + " (expected >= 0)");
        require(o.queueTimeoutSecs >= 0, "--queue-timeout-secs: " + o.queueTimeoutSecs + " (expected >= 0)");
        require(o.clientBodyTimeoutSecs >= 1,
                "--client-body-timeout-secs: " + o.clientBodyTimeoutSecs + " (expected >= 1)");
        require(o.clientWriteTimeoutSecs >= 1,
                "--client-write-timeout-secs: " + o.clientWriteTimeoutSecs + " (expected >= 1)");
        require(o.shutdownGracePeriodSecs >= 0,
                "--shutdown-grace-period-secs: " + o.shutdownGracePeriodSecs + " (expected >= 0)");
        AdmissionConfig admission = new AdmissionConfig(o.maxConcurrentRequests, o.queueSize,
                Duration.ofSeconds(o.queueTimeoutSecs), Duration.ofSeconds(o.shutdownGracePeriodSecs));
        require(o.retryInitialBackoffMs >= 0,
                "--retry-initial-backoff-ms: " + o.retryInitialBackoffMs + " (expected >= 0)");
        require(o.retryMaxBackoffMs >= 0, "--retry-max-backoff-ms: " + o.retryMaxBackoffMs + " (expected >= 0)");
        require(Double.isFinite(o.retryBackoffMultiplier) && o.retryBackoffMultiplier > 0,
                "--retry-backoff-multiplier: " + o.retryBackoffMultiplier + " (expected a number > 0)");
        require(!Double.isNaN(o.retryJitterFactor), "--retry-jitter-factor: NaN (expected 0..1)");
        require(o.cbFailureThreshold >= 1, "--cb-failure-threshold: " + o.cbFailureThreshold + " (expected >= 1)");
        require(o.cbSuccessThreshold >= 1, "--cb-success-threshold: " + o.cbSuccessThreshold + " (expected >= 1)");
        require(o.cbTimeoutDurationSecs >= 0,
                "--cb-timeout-duration-secs: " + o.cbTimeoutDurationSecs + " (expected >= 0)");
        require(o.cbWindowDurationSecs > 0,
                "--cb-window-duration-secs: " + o.cbWindowDurationSecs + " (expected > 0)");
        RetryConfig retry;
        try {
            retry = new RetryConfig(o.retryMaxRetries, Duration.ofMillis(o.retryInitialBackoffMs),
                    Duration.ofMillis(o.retryMaxBackoffMs), o.retryBackoffMultiplier, o.retryJitterFactor,
                    o.disableRetries);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--retry-*: " + e.getMessage());
        }
        CircuitBreakerConfig breaker;
        try {
            // vllm-router users disable the breaker with a huge threshold; so do we
            boolean huge = o.cbFailureThreshold > CircuitBreakerConfig.MAX_FAILURE_THRESHOLD;
            int threshold = huge ? CircuitBreakerConfig.MAX_FAILURE_THRESHOLD : (int) o.cbFailureThreshold;
            breaker = new CircuitBreakerConfig(threshold,
                    o.cbSuccessThreshold, Duration.ofSeconds(o.cbTimeoutDurationSecs),
                    Duration.ofSeconds(o.cbWindowDurationSecs), 1, o.disableCircuitBreaker || huge);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--cb-*: " + e.getMessage());
        }
        HealthConfig health = new HealthConfig(Duration.ofSeconds(o.healthCheckIntervalSecs),
                Duration.ofSeconds(o.healthCheckTimeoutSecs), endpoint, o.healthFailureThreshold,
                o.healthSuccessThreshold);
        require(!o.host.isBlank(), "--host: must not be empty");
        requirePort("--port", o.port);
        requirePort("--prometheus-port", o.prometheusPort);
        require(!o.prometheusHost.isBlank(), "--prometheus-host: must not be empty");
        require(o.port == 0 || o.port != o.prometheusPort,
                "--prometheus-port: " + o.prometheusPort + " is also the router's --port");
        require(o.maxPayloadSize > 0, "--max-payload-size: " + o.maxPayloadSize + " (expected > 0)");
        require(o.requestTimeoutSecs > 0, "--request-timeout-secs: " + o.requestTimeoutSecs + " (expected > 0)");
        require(o.connectTimeoutSecs > 0, "--connect-timeout-secs: " + o.connectTimeoutSecs + " (expected > 0)");
        require(o.readTimeoutSecs >= 0, "--read-timeout-secs: " + o.readTimeoutSecs + " (expected >= 0)");
        require(o.intraNodeDataParallelSize >= 1 && o.intraNodeDataParallelSize <= 4096,
                "--intra-node-data-parallel-size: " + o.intraNodeDataParallelSize + " (expected 1..4096)");
        require(o.workerStartupTimeoutSecs >= 0,
                "--worker-startup-timeout-secs: " + o.workerStartupTimeoutSecs + " (expected >= 0)");
        require(o.workerStartupCheckInterval > 0,
                "--worker-startup-check-interval: " + o.workerStartupCheckInterval + " (expected > 0)");
        String level = o.logLevel.trim().toLowerCase(Locale.ROOT);
        require(LOG_LEVELS.contains(level), "--log-level: '" + o.logLevel + "' (expected debug, info, warn or error)");
        if (o.apiKey != null) {
            require(!o.apiKey.isBlank() && o.apiKey.chars().noneMatch(c -> c < 0x20 || c == 0x7f),
                    "--api-key: must be non-empty and printable");
        }

        List<WorkerUrl> workers = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String raw : o.workerUrls) {
            if (raw.isBlank()) {
                continue;
            }
            WorkerUrl url;
            try {
                url = WorkerUrl.parse(raw);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("--worker-urls: " + e.getMessage());
            }
            require(seen.add(url.id()), "--worker-urls: '" + raw + "' is given twice");
            workers.add(url);
        }

        List<String> idHeaders = new ArrayList<>();
        for (String h : o.requestIdHeaders) {
            String name = h.trim().toLowerCase(Locale.ROOT);
            require(!name.isEmpty() && name.chars().allMatch(RouterConfig::isTokenChar),
                    "--request-id-headers: '" + h + "' is not a valid header name");
            idHeaders.add(name);
        }
        long readSecs = o.readTimeoutSecs == 0 ? o.requestTimeoutSecs : o.readTimeoutSecs;
        return new RouterConfig(o.host.trim(), o.port, workers, policyConfig, o.intraNodeDataParallelSize,
                idHeaders.isEmpty() ? DEFAULT_REQUEST_ID_HEADERS : idHeaders,
                o.maxPayloadSize, Duration.ofSeconds(o.requestTimeoutSecs), Duration.ofSeconds(o.connectTimeoutSecs),
                Duration.ofSeconds(readSecs), o.prometheusHost.trim(), o.prometheusPort, o.apiKey, level, o.logDir,
                Duration.ofSeconds(o.workerStartupTimeoutSecs), Duration.ofSeconds(o.workerStartupCheckInterval),
                Duration.ofNanos(Math.round(o.loadCheckIntervalSecs * 1e9)), o.decisionHeader, pd, health, admission, retry,
                breaker, Duration.ofSeconds(o.clientBodyTimeoutSecs),
                Duration.ofSeconds(o.clientWriteTimeoutSecs), auth(o, parsed, settings), cors(o.corsAllowedOrigins),
                logJson(o.logFormat), o.requestLog, tls(o.tlsCertPath, "--tls-cert-path", o.tlsKeyPath),
                tls(o.tlsKeyPath, "--tls-key-path", o.tlsCertPath), workerTls(o), tracing(o, settings),
                kubernetes(o), clientListener(o), kvEvents(o, parsed),
                TokenizerConfig.parse(o.tokenizerPath));
    }

    /** {@code --kv-events-port} and its companions; {@code null} when KV events are off. */
    private static KvEventsConfig kvEvents(RouterOptions o, GivenFlags parsed) {
        if (o.kvEventsPort == null) {
            for (String flag : List.of("--kv-events-topic", "--kv-events-replay-port", "--kv-events-stale-secs",
                    "--kv-index-max-blocks")) {
                require(!parsed.onCommandLine(flag),
                        flag + ": only with --kv-events-port");
            }
            return null;
        }
        try {
            return new KvEventsConfig(o.kvEventsPort, o.kvEventsTopic,
                    o.kvEventsReplayPort == null ? -1 : o.kvEventsReplayPort,
                    Duration.ofSeconds(o.kvEventsStaleSecs), o.kvIndexMaxBlocks);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    private static AuthConfig auth(RouterOptions o, GivenFlags parsed, SettingsSource settings) {
        // a blank key would leave authentication off while it looks on: refuse it wherever it came from
        String clientKeysFlag = "--client-api-keys";
        boolean clientKeysGiven = parsed.onCommandLine(clientKeysFlag)
                || settings.supplied().contains(parsed.longestName(clientKeysFlag));
        require(!clientKeysGiven || (!o.clientApiKeys.isEmpty() && o.clientApiKeys.stream().noneMatch(String::isBlank)),
                clientKeysFlag + ": an empty key" + given(parsed, settings, clientKeysFlag)
                        + " (it would leave client routes open; give real keys or leave the setting out)");
        require(o.adminApiKey == null || !o.adminApiKey.isBlank(), "--admin-api-key: an empty key"
                + given(parsed, settings, "--admin-api-key")
                + " (it would leave the admin routes open; give a real key or leave the setting out)");
        Set<String> keys = new java.util.LinkedHashSet<>();
        for (String k : o.clientApiKeys) {
            keys.add(k.trim());
        }
        if (o.clientApiKeysFile != null) {
            try {
                for (String line : java.nio.file.Files.readAllLines(o.clientApiKeysFile)) {
                    String k = line.trim();
                    if (!k.isEmpty() && !k.startsWith("#")) {
                        keys.add(k);
                    }
                }
            } catch (java.io.IOException e) {
                throw new ConfigException("--client-api-keys-file: cannot read " + o.clientApiKeysFile + ": "
                        + e.getMessage());
            }
            require(!keys.isEmpty(), "--client-api-keys-file: " + o.clientApiKeysFile + " holds no key");
        }
        List<String> urls = new ArrayList<>(o.apiKeyValidationUrls);
        if (urls.isEmpty() && settings.validationUrlsEnv() != null) {
            for (String u : settings.validationUrlsEnv().split(",")) {
                if (!u.isBlank()) {
                    urls.add(u.trim());
                }
            }
        }
        for (String u : urls) {
            require(u.startsWith("http://") || u.startsWith("https://"),
                    "--api-key-validation-urls: '" + u + "' (expected an http:// or https:// URL)");
        }
        String admin = o.adminApiKey == null ? null : o.adminApiKey.trim();
        require(o.apiKeyCacheTtlSecs >= 0, "--api-key-cache-ttl-secs: " + o.apiKeyCacheTtlSecs + " (expected >= 0)");
        return new AuthConfig(keys, admin, urls, Duration.ofSeconds(o.apiKeyCacheTtlSecs));
    }

    /** " (set in environment variable X)" or " (set in FILE)" when {@code option} did not come from the command line. */
    private static String given(GivenFlags parsed, SettingsSource settings, String flag) {
        return parsed.onCommandLine(flag) ? "" : " (set in " + settings.origin(parsed.longestName(flag)) + ")";
    }

    /** {@code --service-discovery}: the pods to watch, or {@code null} when discovery is off. */
    private static KubernetesDiscoveryConfig kubernetes(RouterOptions o) {
        if (!o.serviceDiscovery) {
            return null;
        }
        if (o.vllmPdDisaggregation) {
            require(!o.prefillSelector.isEmpty() && !o.decodeSelector.isEmpty(),
                    "--service-discovery with --vllm-pd-disaggregation: give --prefill-selector and --decode-selector");
        } else {
            require(!o.selector.isEmpty(), "--service-discovery: give --selector k=v (the labels of worker pods)");
        }
        require(o.serviceDiscoveryPort >= 1 && o.serviceDiscoveryPort <= 65535,
                "--service-discovery-port: " + o.serviceDiscoveryPort + " (expected 1..65535)");
        String ns = o.serviceDiscoveryNamespace == null || o.serviceDiscoveryNamespace.isBlank() ? null
                : o.serviceDiscoveryNamespace.trim();
        try {
            return new KubernetesDiscoveryConfig(o.selector, o.prefillSelector, o.decodeSelector,
                    o.serviceDiscoveryPort, ns, o.vllmPdDisaggregation);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--service-discovery: " + e.getMessage());
        }
    }

    private static TracingConfig tracing(RouterOptions o, SettingsSource settings) {
        try {
            return TracingConfig.of(o.enableTrace, o.otlpTracesEndpoint, o.otelSamplingRatio, o.otelExcludedPaths,
                    settings.otelEnv());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** {@code --max-client-connections} (by default derived from the descriptor limit) and the client limits. */
    private static ClientListenerConfig clientListener(RouterOptions o) {
        int max;
        if (o.maxClientConnections != null) {
            require(o.maxClientConnections >= 1,
                    "--max-client-connections: " + o.maxClientConnections + " (expected >= 1)");
            max = o.maxClientConnections;
        } else {
            long limit = -1;
            long open = 0;
            if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
                limit = unix.getMaxFileDescriptorCount();
                open = unix.getOpenFileDescriptorCount();
            }
            max = ClientListenerConfig.defaultMaxConnections(limit, open);
        }
        require(o.clientHeaderTimeoutSecs >= 1,
                "--client-header-timeout-secs: " + o.clientHeaderTimeoutSecs + " (expected >= 1)");
        require(o.clientIdleTimeoutSecs >= 1,
                "--client-idle-timeout-secs: " + o.clientIdleTimeoutSecs + " (expected >= 1)");
        List<String> suites = new ArrayList<>();
        for (String suite : o.tlsCipherSuites == null ? ClientListenerConfig.DEFAULT_TLS_CIPHER_SUITES
                : o.tlsCipherSuites) {
            if (!suite.isBlank()) {
                suites.add(suite.trim());
            }
        }
        require(!suites.isEmpty(), "--tls-cipher-suites: no suite given");
        require(o.clientBodyMinRate >= 0 && o.clientBodyMinRate <= 1_000_000_000L,
                "--client-body-min-rate: " + o.clientBodyMinRate + " (expected 0 to 1000000000 bytes per second)");
        return new ClientListenerConfig(max, Duration.ofSeconds(o.clientHeaderTimeoutSecs),
                Duration.ofSeconds(o.clientIdleTimeoutSecs), suites, o.clientBodyMinRate);
    }

    /** Both TLS files or neither; each must be readable. */
    private static Path tls(Path file, String flag, Path other) {
        if (file == null && other == null) {
            return null;
        }
        require(file != null && other != null, "--tls-cert-path and --tls-key-path go together");
        require(java.nio.file.Files.isReadable(file), flag + ": cannot read " + file);
        return file;
    }

    /** The worker TLS files: each readable, the client certificate and key together. */
    private static WorkerTlsConfig workerTls(RouterOptions o) {
        require((o.workerClientCert == null) == (o.workerClientKey == null),
                "--worker-client-cert and --worker-client-key go together");
        for (Object[] f : new Object[][] {{o.workerCaCert, "--worker-ca-cert"},
                {o.workerClientCert, "--worker-client-cert"}, {o.workerClientKey, "--worker-client-key"}}) {
            Path file = (Path) f[0];
            require(file == null || java.nio.file.Files.isReadable(file), f[1] + ": cannot read " + file);
        }
        return new WorkerTlsConfig(o.workerCaCert, o.workerClientCert, o.workerClientKey);
    }

    private static boolean logJson(String format) {
        String f = format.trim().toLowerCase(Locale.ROOT);
        require(f.equals("text") || f.equals("json"), "--log-format: '" + format + "' (expected text or json)");
        return f.equals("json");
    }

    private static List<String> cors(List<String> origins) {
        List<String> out = new ArrayList<>();
        for (String origin : origins) {
            String o = origin.trim();
            if (o.isEmpty()) {
                continue;
            }
            require(o.equals("*") || o.startsWith("http://") || o.startsWith("https://"),
                    "--cors-allowed-origins: '" + origin + "' (expected an origin such as https://app.example.com)");
            out.add(o.endsWith("/") ? o.substring(0, o.length() - 1) : o);
        }
        return List.copyOf(out);
    }

    /** Whether this router runs prefill/decode disaggregation. */
    public boolean isPd() {
        return pd != null;
    }

    private static boolean isTokenChar(int c) {
        return c > 0x20 && c < 0x7f && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0;
    }

    private static void requirePort(String flag, int port) {
        require(port >= 0 && port <= 65535, flag + ": " + port + " (expected 0..65535)");
    }
}
