package dev.vllmrouter.tracing;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

import dev.vllmrouter.common.Ticker;

/**
 * The router's tracer ({@code --enable-trace}): one SERVER span per request, continuing the caller's W3C trace
 * context or starting a new trace, one CLIENT span per upstream call, exported over OTLP/HTTP JSON in the background.
 * <p>Decisions made once per request in {@link #start}: an excluded path ({@code --otel-excluded-paths}, exact match)
 * or tracing off gives {@link RequestSpan#NOOP}, which costs nothing; otherwise the {@link Sampler} decides, and an
 * unsampled request still propagates its trace id with the sampled flag off ({@link PropagatingSpan}), so the
 * workers agree with the decision.
 * <p>Time (epoch nanoseconds) and ids are injected, so tests are deterministic. Thread-safe; {@link #close()} flushes
 * the queued spans (at most 5 s) and is meant for shutdown, after the server stopped taking requests.
 */
public final class Tracing implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Tracing.class.getName());
    private static final Tracing DISABLED = new Tracing(TracingConfig.disabled(), () -> 0, () -> 1, span -> { }, null);
    static final Duration EXPORT_TIMEOUT = Duration.ofSeconds(10);
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

    private final boolean enabled;
    private final Set<String> excludedPaths;
    private final Sampler sampler;
    private final LongSupplier clock;
    private final LongSupplier ids;
    private final Consumer<SpanData> sink;
    private final BatchSpanProcessor processor;

    Tracing(TracingConfig config, LongSupplier epochNanos, LongSupplier ids, Consumer<SpanData> sink,
            BatchSpanProcessor processor) {
        this.enabled = config.enabled();
        this.excludedPaths = Set.copyOf(config.excludedPaths());
        this.sampler = new Sampler(config.samplingRatio());
        this.clock = epochNanos;
        this.ids = ids;
        this.sink = sink;
        this.processor = processor;
    }

    /** Tracing off: always the same instance, whose spans are all {@link RequestSpan#NOOP}. */
    public static Tracing disabled() {
        return DISABLED;
    }

    /** Tracing as configured, with the system clock and thread-local randomness. */
    public static Tracing create(TracingConfig config) {
        return create(config, Tracing::epochNanosNow, ThreadLocalRandom.current());
    }

    /**
     * Tracing as configured, exporting to {@code config.endpoint()}.
     *
     * @param epochNanos the wall clock in nanoseconds since the epoch (span times)
     * @param random     source of trace and span ids; {@link ThreadLocalRandom#current()} is used per calling thread
     * @throws IllegalArgumentException when the endpoint is not {@code host:port} or an http(s) URL
     */
    public static Tracing create(TracingConfig config, LongSupplier epochNanos, RandomGenerator random) {
        if (!config.enabled()) {
            return DISABLED;
        }
        LongSupplier ids = random instanceof ThreadLocalRandom
                ? () -> ThreadLocalRandom.current().nextLong() // its instance belongs to the thread that got it
                : random::nextLong;
        OtlpHttpExporter exporter = new OtlpHttpExporter(OtlpHttpExporter.tracesUri(config.endpoint()),
                config.serviceName(), EXPORT_TIMEOUT);
        BatchSpanProcessor processor = new BatchSpanProcessor(exporter, BatchSpanProcessor.DEFAULT_CAPACITY,
                BatchSpanProcessor.DEFAULT_MAX_BATCH, BatchSpanProcessor.DEFAULT_INTERVAL, Ticker.system());
        LOG.log(Level.INFO, "tracing: OTLP/HTTP JSON to {0}, sampling ratio {1} (parent-based), excluded paths {2}",
                exporter.uri(), config.samplingRatio(), config.excludedPaths());
        return new Tracing(config, epochNanos, ids, processor, processor);
    }

    public boolean enabled() {
        return enabled;
    }

    /**
     * Starts the span of a request.
     *
     * @param route  the route template ({@code http.route}, part of the span name), e.g. {@code /v1/chat/completions}
     * @param method the HTTP method
     * @param path   the request path without the query ({@code url.path}; matched against the excluded paths)
     * @param header the request's header values by lower-case name ({@code null} when absent); asked only for
     *               {@code traceparent} and {@code tracestate}, and only when the path is traced
     */
    public RequestSpan start(String route, String method, String path, Function<String, String> header) {
        if (!enabled || excludedPaths.contains(path)) {
            return RequestSpan.NOOP;
        }
        TraceContext parent = TraceContext.parse(header.apply(TraceContext.TRACEPARENT),
                header.apply(TraceContext.TRACESTATE));
        String traceId = parent != null ? parent.traceId() : TraceContext.newTraceId(ids);
        boolean sampled = sampler.sample(parent, traceId);
        TraceContext self = new TraceContext(traceId, TraceContext.newSpanId(ids), sampled,
                parent != null ? parent.traceState() : null);
        if (!sampled) {
            return new PropagatingSpan(self);
        }
        return new ServerSpan(self, parent != null ? parent.spanId() : null, route, method, path, clock, ids, sink);
    }

    /** Spans lost because the export queue was full. */
    public long droppedSpans() {
        return processor == null ? 0 : processor.dropped();
    }

    /** Exports what is queued (waiting at most 5 s) and stops the export thread. */
    @Override
    public void close() {
        if (processor != null) {
            processor.close(CLOSE_TIMEOUT);
        }
    }

    private static long epochNanosNow() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
