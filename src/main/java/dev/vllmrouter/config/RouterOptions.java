package dev.vllmrouter.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import picocli.CommandLine.Option;

/**
 * The command-line flags of the Rust vllm-router (same names, same code defaults; reference §2), plus this router's
 * own extensions, as a picocli mixin shared by the router command and {@code demo}. Flags whose feature has not
 * landed yet are declared (so {@code --help} lists them and scripts written for the Rust binary are recognised) and
 * are refused at start by {@link RouterConfig#from} with "not supported yet: --flag".
 */
public final class RouterOptions {

    // ---- server
    @Option(names = "--host", description = "Bind address of the router HTTP server.")
    public String host = "127.0.0.1";

    @Option(names = "--port", description = "Router HTTP port (0 = any free port).")
    public int port = 30000;

    @Option(names = "--max-payload-size", description = "Largest accepted request body in bytes; larger gets 413.")
    public long maxPayloadSize = 536_870_912L;

    @Option(names = "--request-timeout-secs",
            description = "Total time allowed for one upstream request, response body (stream) included.")
    public long requestTimeoutSecs = 1800;

    @Option(names = "--connect-timeout-secs", description = "Connect timeout to a worker. (extension)")
    public long connectTimeoutSecs = 10;

    @Option(names = "--read-timeout-secs", description = "Longest silence allowed while reading a worker's answer "
            + "(the inter-token timeout when streaming); 0 = same as --request-timeout-secs. (extension)")
    public long readTimeoutSecs = 0;

    @Option(names = "--max-concurrent-requests", description = "Most generation requests in flight at once, "
            + "streams counted until their last byte; more wait in the queue.")
    public int maxConcurrentRequests = 32768;

    @Option(names = "--queue-size", description = "Requests that may wait for a slot; beyond that: 429 with "
            + "Retry-After. 0 = no queue.")
    public int queueSize = 100;

    @Option(names = "--queue-timeout-secs", description = "Longest wait in the queue; then 408.")
    public long queueTimeoutSecs = 60;

    @Option(names = "--tls-cert-path", paramLabel = "FILE",
            description = "PEM certificate chain: serve HTTPS on --port (with --tls-key-path). (extension)")
    public Path tlsCertPath;

    @Option(names = "--tls-key-path", paramLabel = "FILE", description = "PEM private key of --tls-cert-path. "
            + "(extension)")
    public Path tlsKeyPath;

    @Option(names = "--worker-ca-cert", paramLabel = "FILE", description = "PEM CA bundle trusted for https "
            + "workers' certificates, instead of the JVM's trust store. (extension)")
    public Path workerCaCert;

    @Option(names = "--worker-client-cert", paramLabel = "FILE", description = "PEM certificate chain presented "
            + "to https workers that ask for one (vLLM --ssl-cert-reqs); with --worker-client-key. (extension)")
    public Path workerClientCert;

    @Option(names = "--worker-client-key", paramLabel = "FILE", description = "PEM private key of "
            + "--worker-client-cert. (extension)")
    public Path workerClientKey;

    @Option(names = "--client-body-timeout-secs", description = "Longest pause while a client sends its request "
            + "body; then 408 and the connection is closed (nginx's client_body_timeout). (extension)")
    public long clientBodyTimeoutSecs = 60;

    @Option(names = "--client-body-min-rate", description = "Bytes per second a request body must average: the "
            + "whole body must be in within --client-body-timeout-secs plus 1 s for every this many bytes received; "
            + "then 408 and the connection is closed (Apache's mod_reqtimeout MinRate). 0: off. (extension)")
    public long clientBodyMinRate = 500;

    @Option(names = "--client-write-timeout-secs", description = "Longest a write to a client may stay blocked (a "
            + "client that stopped reading); then the connection is closed, the worker's request aborted and its "
            + "slot freed (nginx's send_timeout). --request-timeout-secs bounds such writes as well. (extension)")
    public long clientWriteTimeoutSecs = 60;

    @Option(names = "--max-client-connections", description = "Most client connections open at once on --port; "
            + "more are closed at once. Default: half of what the descriptor limit (ulimit -n) leaves after those "
            + "open at start and 64 more. (extension)")
    public Integer maxClientConnections;

    @Option(names = "--client-header-timeout-secs", description = "Longest a client may take to send its request "
            + "head: from connecting (TLS handshake included) for the first request, from its first byte for the "
            + "next; then the connection is closed. (extension)")
    public long clientHeaderTimeoutSecs = 30;

    @Option(names = "--client-idle-timeout-secs", description = "Longest a keep-alive connection may wait for its "
            + "next request; then it is closed. (extension)")
    public long clientIdleTimeoutSecs = 75;

    @Option(names = "--tls-cipher-suites", split = ",", paramLabel = "SUITE", description = "Cipher suites of "
            + "--tls-cert-path (TLS 1.3 and 1.2), comma-separated. Default: TLS 1.3's and the ECDHE AEAD suites of "
            + "TLS 1.2. (extension)")
    public List<String> tlsCipherSuites;

    @Option(names = "--shutdown-grace-period-secs", description = "On SIGTERM: readiness turns 503, new requests "
            + "get 503, and running requests get this long to finish before the router exits. (extension)")
    public long shutdownGracePeriodSecs = 30;

    @Option(names = "--cors-allowed-origins", arity = "0..*", split = ",",
            description = "Origins browsers may call the router from; none given: any origin (as vllm-router).")
    public List<String> corsAllowedOrigins = new ArrayList<>();

    // ---- workers and backend
    @Option(names = "--worker-urls", arity = "0..*", split = ",", paramLabel = "URL",
            description = "Worker base URLs (http:// or https://), space-separated; url@k pins DP rank k.")
    public List<String> workerUrls = new ArrayList<>();

    @Option(names = "--worker-startup-timeout-secs",
            description = "How long to wait for a worker's /health at start-up and in /add_worker.")
    public long workerStartupTimeoutSecs = 600;

    @Option(names = "--worker-startup-check-interval",
            description = "Seconds between /health polls while waiting for a worker.")
    public long workerStartupCheckInterval = 30;

    @Option(names = "--intra-node-data-parallel-size",
            description = "Expand each worker URL into url@0..url@N-1 data-parallel ranks.")
    public int intraNodeDataParallelSize = 1;

    @Option(names = {"--backend", "--runtime"}, description = "Backend runtime: vllm (trtllm and anthropic are "
            + "accepted and routed as vllm, with a warning, as vllm-router does; openai: not supported yet).")
    public String backend = "vllm";

    @Option(names = "--enable-igw", description = "Inference-gateway multi-router mode. [not supported yet]")
    public boolean enableIgw;

    @Option(names = "--history-backend", description = "Responses API history storage of the IGW mode: memory or "
            + "none. Accepted with a warning: it has no effect outside IGW.")
    public String historyBackend = "memory";

    @Option(names = "--profile", description = "Call /start_profile and /stop_profile around PD stages. "
            + "[not supported yet]")
    public boolean profile;

    @Option(names = "--model-path", paramLabel = "PATH", description = "Python launcher / older vllm-router: "
            + "model for router-side tokenization. Accepted with a warning: no effect yet.")
    public String modelPath;

    @Option(names = "--tokenizer-path", arity = "1..*", split = ",", paramLabel = "[MODEL=]DIR",
            description = "Hugging Face model directory (tokenizer.json, tokenizer_config.json or "
                    + "chat_template.jinja) the router tokenizes prompts with, as vLLM does; MODEL=DIR for one model "
                    + "of several. Repeatable.")
    public List<String> tokenizerPath = new ArrayList<>();

    @Option(names = "--mini-lb", description = "Python launcher: its debug load balancer. Accepted with a warning: "
            + "this router serves instead.")
    public boolean miniLb;

    @Option(names = "--rate-limit-tokens-per-second", paramLabel = "N", description = "Python launcher: refill rate "
            + "of its admission token bucket. [not supported yet: --max-concurrent-requests is a limit of requests "
            + "in flight here]")
    public Integer rateLimitTokensPerSecond;

    @Option(names = "--api-key", description = "Key sent to workers as 'Authorization: Bearer <key>'.")
    public String apiKey;

    // ---- routing policy
    @Option(names = "--policy", description = "Load-balancing policy: cache_aware, round_robin, random, power_of_two, "
            + "consistent_hash, rendezvous_hash.")
    public String policy = "cache_aware";

    @Option(names = "--prefill-policy", description = "PD: policy choosing the prefill worker (default: --policy).")
    public String prefillPolicy;

    @Option(names = "--decode-policy", description = "PD: policy choosing the decode worker (default: --policy).")
    public String decodePolicy;

    @Option(names = "--cache-threshold",
            description = "cache_aware: share of the prompt a worker must already hold for cache affinity (0..1).")
    public double cacheThreshold = 0.3;

    @Option(names = "--balance-abs-threshold",
            description = "cache_aware: the fleet is imbalanced when max - min load exceeds this ...")
    public int balanceAbsThreshold = 64;

    @Option(names = "--balance-rel-threshold", description = "... and max load exceeds min load times this.")
    public double balanceRelThreshold = 1.5;

    @Option(names = {"--eviction-interval", "--eviction-interval-secs"},
            description = "cache_aware: seconds between trims of the prefix trees to --max-tree-size (0 = never).")
    public long evictionInterval = 120;

    @Option(names = "--max-tree-size", description = "cache_aware: characters of prompt text remembered per worker.")
    public long maxTreeSize = 67_108_864L;

    @Option(names = "--load-check-interval-secs", description = "Seconds between scrapes of each worker's queue "
            + "(/metrics, else /load) for load-aware policies, fractions allowed (0.5: with several router replicas); "
            + "its models are re-read every 60 s. (extension)")
    public double loadCheckIntervalSecs = 5;

    @Option(names = "--decision-header", description = "Add x-vllm-router-decision (policy, worker, reason, match) "
            + "to every routed answer; it names internal worker URLs. (extension)")
    public boolean decisionHeader;

    // ---- KV-cache events: the exact prefix-cache index (extension)
    @Option(names = "--kv-events-port", paramLabel = "PORT", description = "Subscribe to every worker's vLLM KV-cache "
            + "events (its --kv-events-config publisher) at tcp://<worker host>:<PORT + DP rank>; off when not given. "
            + "(extension)")
    public Integer kvEventsPort;

    @Option(names = "--kv-events-topic", description = "Topic prefix to subscribe to (default: all topics). (extension)")
    public String kvEventsTopic = "";

    @Option(names = "--kv-events-replay-port", paramLabel = "PORT", description = "The engines' replay_endpoint port "
            + "(+ DP rank): lost batches are asked for again there; without it a gap drops that worker's index "
            + "entries. (extension)")
    public Integer kvEventsReplayPort;

    @Option(names = "--kv-events-stale-secs", description = "A worker sent requests but no KV-event batch for this "
            + "long is in fallback. (extension)")
    public long kvEventsStaleSecs = 10;

    @Option(names = "--kv-index-max-blocks", description = "Bound of the KV-event index, in (worker, block) entries "
            + "(about 200 bytes each). (extension)")
    public int kvIndexMaxBlocks = 1 << 20;

    // ---- prefill/decode disaggregation
    @Option(names = "--vllm-pd-disaggregation",
            description = "Prefill/decode disaggregation: each request is prefilled on one worker, decoded on another.")
    public boolean vllmPdDisaggregation;

    @Option(names = "--prefill", split = ",", paramLabel = "URL [PORT|none]",
            description = "PD: a prefill worker, optionally with its Mooncake bootstrap port. Repeatable.")
    public List<String> prefill = new ArrayList<>();

    @Option(names = "--decode", split = ",", paramLabel = "URL", description = "PD: a decode worker. Repeatable.")
    public List<String> decode = new ArrayList<>();

    @Option(names = "--vllm-discovery-address", paramLabel = "HOST:PORT",
            description = "PD: bind a ZeroMQ ROUTER socket here for vLLM P2P-NCCL workers to register (e.g. "
                    + "0.0.0.0:30001).")
    public String vllmDiscoveryAddress;

    @Option(names = "--kv-connector", description = "PD: nixl, mooncake or moriio (needs --vllm-discovery-address).")
    public String kvConnector = "nixl";

    // ---- Kubernetes discovery
    @Option(names = "--service-discovery", description = "Discover workers as Kubernetes pods (Ready and Running, "
            + "matching --selector, or --prefill-selector/--decode-selector under PD).")
    public boolean serviceDiscovery;

    @Option(names = "--selector", arity = "0..*", split = ",", description = "Labels k=v a worker pod carries (all "
            + "must match; sent to the API server).")
    public Map<String, String> selector = new LinkedHashMap<>();

    @Option(names = "--service-discovery-port", description = "Port of the vLLM server in discovered pods.")
    public int serviceDiscoveryPort = 80;

    @Option(names = "--service-discovery-namespace", description = "Namespace to watch (unset: all namespaces).")
    public String serviceDiscoveryNamespace;

    @Option(names = "--prefill-selector", arity = "0..*", split = ",",
            description = "Labels k=v of prefill pods (PD; wins over --decode-selector).")
    public Map<String, String> prefillSelector = new LinkedHashMap<>();

    @Option(names = "--decode-selector", arity = "0..*", split = ",",
            description = "Labels k=v of decode pods (PD).")
    public Map<String, String> decodeSelector = new LinkedHashMap<>();

    // ---- retries, circuit breaker, health
    @Option(names = "--retry-max-retries", description = "Total attempts per request (first + retries), at least 1.")
    public int retryMaxRetries = 5;

    @Option(names = "--retry-initial-backoff-ms", description = "Delay before the first retry.")
    public long retryInitialBackoffMs = 50;

    @Option(names = "--retry-max-backoff-ms", description = "Longest delay between attempts.")
    public long retryMaxBackoffMs = 30000;

    @Option(names = "--retry-backoff-multiplier", description = "Growth of the delay per retry.")
    public double retryBackoffMultiplier = 1.5;

    @Option(names = "--retry-jitter-factor", description = "Random spread of each delay, +/- this fraction (0..1).")
    public double retryJitterFactor = 0.2;

    @Option(names = "--disable-retries", description = "One attempt per request.")
    public boolean disableRetries;

    @Option(names = "--cb-failure-threshold", description = "Failures (5xx, broken connections) within the window that open a worker's circuit.")
    public long cbFailureThreshold = 10;

    @Option(names = "--cb-success-threshold", description = "Successful trial requests that close a half-open circuit.")
    public int cbSuccessThreshold = 3;

    @Option(names = "--cb-timeout-duration-secs", description = "How long an open circuit keeps a worker out before a trial.")
    public long cbTimeoutDurationSecs = 60;

    @Option(names = "--cb-window-duration-secs", description = "How far back failures count (vllm-router ignores this flag).")
    public long cbWindowDurationSecs = 120;

    @Option(names = "--disable-circuit-breaker", description = "Never take a worker out for its failures.")
    public boolean disableCircuitBreaker;

    @Option(names = "--health-failure-threshold",
            description = "Consecutive failed health probes before a worker leaves rotation.")
    public int healthFailureThreshold = 3;

    @Option(names = "--health-success-threshold",
            description = "Consecutive good health probes before an unhealthy worker returns.")
    public int healthSuccessThreshold = 2;

    @Option(names = "--health-check-timeout-secs", description = "Timeout of one health probe.")
    public long healthCheckTimeoutSecs = 5;

    @Option(names = "--health-check-interval-secs", description = "Seconds between health-check rounds.")
    public long healthCheckIntervalSecs = 60;

    @Option(names = "--health-check-endpoint", description = "Path probed on each worker (any 2xx is healthy).")
    public String healthCheckEndpoint = "/health";

    // ---- logging, metrics, request id, tracing
    @Option(names = "--log-dir", description = "Also write logs to <dir>/vllm-router.log.")
    public Path logDir;

    @Option(names = "--log-level", description = "trace, debug, info, warn, error.")
    public String logLevel = "info";

    @Option(names = "--log-format", description = "text or json (one JSON object per line). (extension)")
    public String logFormat = "text";

    @Option(names = "--request-log", description = "Log one line per request: id, route, status, worker, "
            + "attempts, time to first token, duration (never bodies). (extension)")
    public boolean requestLog;

    @Option(names = "--prometheus-host", description = "Bind address of the Prometheus exporter.")
    public String prometheusHost = "127.0.0.1";

    @Option(names = "--prometheus-port", description = "Port of the Prometheus exporter (path /metrics).")
    public int prometheusPort = 29000;

    @Option(names = "--request-id-headers", arity = "1..*", split = ",", paramLabel = "HEADER",
            description = "Headers that carry a client's request id, in order "
                    + "(default: x-request-id x-correlation-id x-trace-id request-id).")
    public List<String> requestIdHeaders = new ArrayList<>();

    @Option(names = "--enable-trace", description = "OpenTelemetry tracing: spans exported over OTLP (gRPC, or "
            + "http/protobuf with OTEL_EXPORTER_OTLP_PROTOCOL), W3C traceparent continued to workers.")
    public boolean enableTrace;

    @Option(names = "--otlp-traces-endpoint", description = "OTLP collector, host:port or URL (else env "
            + "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317).")
    public String otlpTracesEndpoint;

    @Option(names = "--otel-sampling-ratio", description = "Share of new traces sampled (0..1, default 1.0, or "
            + "env OTEL_TRACES_SAMPLER/_ARG when not given); a caller's sampled flag is followed.")
    public Double otelSamplingRatio; // null: not given

    @Option(names = "--otel-excluded-paths", arity = "0..*", split = ",",
            description = "Paths never traced (default /health /health_generate /liveness /readiness).")
    public List<String> otelExcludedPaths = new ArrayList<>();

    // ---- auth, middleware, program scheduling
    @Option(names = "--api-key-validation-urls", arity = "0..*", split = ",", paramLabel = "URL",
            description = "Services that validate a client's key: GET with its Bearer token, 200 = valid "
                    + "(else env API_KEY_VALIDATION_URLS).")
    public List<String> apiKeyValidationUrls = new ArrayList<>();

    @Option(names = "--api-key-cache-ttl-secs", description = "How long a key validation answer is reused. "
            + "(extension)")
    public long apiKeyCacheTtlSecs = 300;

    @Option(names = "--client-api-keys", arity = "0..*", split = ",", paramLabel = "KEY",
            description = "Keys clients must send as 'Authorization: Bearer <key>' (prefer the environment or "
                    + "--client-api-keys-file: flags show in ps). (extension)")
    public List<String> clientApiKeys = new ArrayList<>();

    @Option(names = "--client-api-keys-file", paramLabel = "FILE",
            description = "File with one client key per line ('#' comments). (extension)")
    public Path clientApiKeysFile;

    @Option(names = "--admin-api-key", paramLabel = "KEY",
            description = "Key required on the admin routes (/add_worker, /workers, ...). (extension)")
    public String adminApiKey;

    @Option(names = "--wasm-middleware", description = "[not supported yet]")
    public Path wasmMiddleware;

    @Option(names = "--wasm-middleware-sha256", description = "[not supported yet]")
    public String wasmMiddlewareSha256;

    @Option(names = "--wasm-middleware-route", arity = "0..*", split = ",", description = "[not supported yet]")
    public List<String> wasmMiddlewareRoute = new ArrayList<>();

    @Option(names = "--enable-program-scheduling", description = "[not supported yet]")
    public boolean enableProgramScheduling;

    @Option(names = "--program-scheduling-config-json", description = "[not supported yet]")
    public String programSchedulingConfigJson;

    // ---- this router's own
    @Option(names = "--config", paramLabel = "FILE",
            description = "YAML file with the same settings under the flag names (CLI > env > file > defaults).")
    public Path config;

    /**
     * Flags of vllm-router (or of its Python launcher) that change nothing in this router: accepted, each with the
     * warning logged at start when it is given (command line, environment or file). See {@link AcceptedFlags}.
     */
    public static final java.util.Map<String, String> ACCEPTED_WITHOUT_EFFECT = java.util.Map.of(
            "--history-backend", "it configures the Responses API storage of the IGW mode, which this router does not"
                    + " have",
            "--model-path", "router-side tokenization is not built yet; the router reads no model files",
            "--mini-lb", "this is the Python launcher's debug load balancer; this router serves instead");

    /** Flags whose feature has not landed; giving one (CLI, environment or file) stops the start. */
    public static final List<String> NOT_SUPPORTED_YET = List.of(
            "--enable-igw", "--profile", "--rate-limit-tokens-per-second",
            "--wasm-middleware", "--wasm-middleware-sha256", "--wasm-middleware-route",
            "--enable-program-scheduling", "--program-scheduling-config-json");
}
