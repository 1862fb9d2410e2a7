package dev.vllmrouter.sim;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http1.Http1Config;

import java.time.Duration;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A simulated vLLM OpenAI-compatible server (v0.11 wire shapes) on a real socket: the test double of the
 * router's integration tests, the backend of the benchmarks and of the demo.
 *
 * <p>Routes: {@code POST /v1/chat/completions}, {@code /v1/completions} (JSON or SSE), {@code /v1/responses},
 * {@code /v1/embeddings}, {@code /v1/rerank} (also {@code /rerank}, {@code /v2/rerank}),
 * {@code /v1/audio/transcriptions}, {@code /tokenize}, {@code /detokenize}, {@code /reset_prefix_cache};
 * {@code GET /v1/models}, {@code /health}, {@code /ping} (also POST), {@code /load}, {@code /version},
 * {@code /metrics}. Anything else: 404 {@code {"detail":"Not Found"}}. Every request is recorded in {@link #log()}.
 * The worker does not echo {@code X-Request-Id} (vLLM only does with {@code --enable-request-id-headers}).
 *
 * <p>Prefix caching: every chat/completions request is looked up in and then stored into one
 * {@link PrefixCacheModel} ({@link #prefixCache()}), which drives {@code usage.prompt_tokens_details},
 * the optional prefill-time saving, {@code vllm:prefix_cache_*} and {@code vllm:kv_cache_usage_perc};
 * {@code /reset_prefix_cache} empties it. With {@code kvEventsPort} set, its changes are published as vLLM's KV-cache
 * events ({@link #kvEvents()}).
 *
 * <p>Control: {@link #faults()} injects failures, hangs, mid-stream deaths, latency and health at runtime;
 * {@link #inFlight()} / {@link #served()} count inference requests (the {@code /load} value).
 *
 * <p>Threading: Helidon runs each connection on its own virtual thread and the handlers block (latency waits,
 * hang, scheduler queue) on that thread; shared state is in lock-free counters or short ReentrantLock sections.
 * {@link #close()} first releases everything that waits (hang, queue, latency) so that shutdown is prompt.
 */
public final class SimWorker implements AutoCloseable {
    private static final Set<String> POST_PATHS = Set.of("/v1/chat/completions", "/v1/completions",
            "/v1/responses", "/v1/embeddings", "/v1/rerank", "/rerank", "/v2/rerank", "/v1/audio/transcriptions",
            "/tokenize", "/detokenize", "/reset_prefix_cache", "/ping");
    private static final Set<String> GET_PATHS = Set.of("/v1/models", "/health", "/ping", "/load", "/version",
            "/metrics");

    private final SimContext ctx;
    private final WebServer server;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SimWorker(SimContext ctx, WebServer server) {
        this.ctx = ctx;
        this.server = server;
    }

    /** Starts a worker and returns once it is listening. */
    public static SimWorker start(SimConfig config) {
        Objects.requireNonNull(config, "config");
        SimContext ctx = new SimContext(config);
        WebServer server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .shutdownHook(false)
                .shutdownGracePeriod(Duration.ofMillis(200))
                .connectionOptions(o -> o.tcpNoDelay(true))
                .addProtocol(Http1Config.builder().addReceiveListener(ctx.watch).build())
                .routing(routing -> routes(ctx, routing))
                .build()
                .start();
        ctx.moriio.httpPort(server.port());
        if (ctx.workerId() == null) {
            ctx.workerId("sim-" + server.port());
        }
        return new SimWorker(ctx, server);
    }

    private static void routes(SimContext ctx, HttpRouting.Builder r) {
        InferencePipeline pipeline = new InferencePipeline(ctx);
        Set<String> known = new HashSet<>(POST_PATHS);
        known.addAll(GET_PATHS);
        InfoRoutes info = new InfoRoutes(ctx, Set.copyOf(known));
        var rerank = pipeline.handler(new PoolingRoutes.RerankRoute(ctx));
        String apiKey = ctx.config.apiKey();
        if (apiKey != null) {
            // vLLM's --api-key: every /v1 path but OPTIONS needs the key
            String expected = "Bearer " + apiKey;
            r.addFilter((chain, req, res) -> {
                if (req.path().path().startsWith("/v1") && req.prologue().method() != io.helidon.http.Method.OPTIONS
                        && !expected.equals(req.headers().first(io.helidon.http.HeaderNames.AUTHORIZATION)
                        .orElse(null))) {
                    ctx.log.refusedUnauthorized();
                    Replies.json(res, 401, ByteSink.bytes("{\"error\":\"Unauthorized\"}"));
                    return;
                }
                chain.proceed();
            });
        }
        r.post("/v1/chat/completions", pipeline.handler(new GenerationRoute(true, ctx)))
                .post("/v1/completions", pipeline.handler(new GenerationRoute(false, ctx)))
                .post("/v1/responses", pipeline.handler(new ResponsesRoute(ctx)))
                .post("/v1/embeddings", pipeline.handler(new PoolingRoutes.EmbeddingsRoute(ctx)))
                .post("/v1/rerank", rerank)
                .post("/rerank", rerank)
                .post("/v2/rerank", rerank)
                .post("/v1/audio/transcriptions", pipeline.handler(new PoolingRoutes.TranscriptionRoute(ctx)))
                .post("/tokenize", info.handler(info::tokenize))
                .post("/detokenize", info.handler(info::detokenize))
                .post("/reset_prefix_cache", info.handler(info::resetPrefixCache))
                .get("/v1/models", info.handler(info::models))
                .get("/health", info.handler(info::health))
                .get("/ping", info.handler(info::health))
                .post("/ping", info.handler(info::health))
                .get("/load", info.handler(info::load))
                .get("/version", info.handler(info::version))
                .get("/query", info.handler(info::mooncakeQuery))
                .get("/metrics", info.handler(info::metrics))
                .post("/moriio/notify", info.handler(info::moriioNotify))
                .get("/sim/bytes", info.handler(info::bytes))
                .any(info::fallback);
    }

    /**
     * The worker's KV-cache event publisher (its ports; {@link SimKvEvents#close()} kills it), or {@code null} when
     * the worker publishes none.
     */
    public SimKvEvents kvEvents() {
        return ctx.kvEvents;
    }

    /** The MoRI-IO connector this worker plays (off until a mode is set). */
    public SimMoriio moriio() {
        return ctx.moriio;
    }

    /** The port the worker listens on. */
    public int port() {
        return server.port();
    }

    /** Base URL for clients, e.g. {@code http://127.0.0.1:8001} (loopback when bound to a wildcard). */
    public String url() {
        String host = ctx.config.host();
        if (host.equals("0.0.0.0") || host.equals("::") || host.equals("localhost") || host.isEmpty()) {
            host = "127.0.0.1";
        } else if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        return "http://" + host + ":" + port();
    }

    /** The worker id: configured, or {@code sim-<port>}. */
    public String workerId() {
        return ctx.workerId();
    }

    public SimConfig config() {
        return ctx.config;
    }

    /** Runtime fault injection; thread-safe, effective immediately. */
    public SimFaults faults() {
        return ctx.faults;
    }

    /** What the worker received. */
    public RequestLog log() {
        return ctx.log;
    }

    /** The worker's prefix-cache model (what {@code cached_tokens} and {@code vllm:prefix_cache_*} report). */
    public PrefixCacheModel prefixCache() {
        return ctx.prefixCache;
    }

    /** Inference requests currently being served, including queued, hung and streaming ones. */
    public int inFlight() {
        return ctx.stats.inFlight.get();
    }

    /** Inference requests answered completely and successfully (errors and aborted ones are not counted). */
    public long served() {
        return ctx.stats.served.sum();
    }

    /** Requests running in the simulated engine (holding a scheduler slot). */
    public int running() {
        return ctx.scheduler.running();
    }

    /** Requests queued for a scheduler slot ({@code maxNumSeqs}). */
    public int waiting() {
        return ctx.scheduler.waiting();
    }

    public boolean isRunning() {
        return !closed.get() && server.isRunning();
    }

    /** Releases waiting requests and stops the server. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            ctx.close();
            server.stop();
        }
    }

    @Override
    public String toString() {
        return "SimWorker[" + workerId() + " " + url() + " models=" + ctx.config.models() + "]";
    }
}
