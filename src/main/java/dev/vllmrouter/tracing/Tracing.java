package dev.vllmrouter.tracing;

import java.util.Set;
import java.util.function.Function;

/**
 * The router's tracer ({@code --enable-trace}): one SERVER span per request, continuing the caller's W3C trace
 * context or starting a new trace, one CLIENT span per upstream call, exported over OTLP in the background by the
 * OpenTelemetry SDK ({@link OtelTracer}).
 * <p>Decisions made once per request in {@link #start}: tracing off or an excluded path
 * ({@code --otel-excluded-paths}, exact match) gives {@link RequestSpan#NOOP}, which costs a field read and nothing
 * else; otherwise the SDK's sampler decides, and an unsampled request still propagates its trace id with the sampled
 * flag off ({@link PropagatingSpan}), so the workers agree with the decision.
 * <p>Start-up: this class names no OpenTelemetry type, and {@link OtelTracer} (which does) is loaded only by
 * {@link #create} with tracing on, so a router that does not trace never loads, let alone starts, the SDK.
 * Thread-safe; {@link #close()} flushes the queued spans (at most 5 s) and is meant for shutdown, after the server
 * stopped taking requests.
 */
public final class Tracing implements AutoCloseable {
    private static final Tracing DISABLED = new Tracing(Set.of(), null);

    /** What tracing on does; {@link OtelTracer} with the SDK, something simpler in tests. */
    interface Engine extends AutoCloseable {
        /** A span for a traced path (tracing is on and the path not excluded). */
        RequestSpan start(String route, String method, String path, Function<String, String> header);

        @Override
        void close();
    }

    private final Set<String> excludedPaths;
    private final Engine engine;

    private Tracing(Set<String> excludedPaths, Engine engine) {
        this.excludedPaths = excludedPaths;
        this.engine = engine;
    }

    /** Tracing off: always the same instance, whose spans are all {@link RequestSpan#NOOP}. */
    public static Tracing disabled() {
        return DISABLED;
    }

    /**
     * Tracing as configured: when enabled, an SDK tracer provider exporting to {@code config.export()}.
     *
     * @throws IllegalArgumentException when the SDK refuses the export settings
     */
    public static Tracing create(TracingConfig config) {
        if (!config.enabled()) {
            return DISABLED;
        }
        return new Tracing(Set.copyOf(config.excludedPaths()), OtelTracer.create(config));
    }

    /** Tracing with the given engine (tests: an SDK with an in-memory exporter, a fixed clock and ids). */
    static Tracing of(TracingConfig config, Engine engine) {
        return new Tracing(Set.copyOf(config.excludedPaths()), engine);
    }

    public boolean enabled() {
        return engine != null;
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
        if (engine == null || excludedPaths.contains(path)) {
            return RequestSpan.NOOP;
        }
        return engine.start(route, method, path, header);
    }

    /** Exports what is queued (waiting at most 5 s) and stops the exporter. */
    @Override
    public void close() {
        if (engine != null) {
            engine.close();
        }
    }
}
