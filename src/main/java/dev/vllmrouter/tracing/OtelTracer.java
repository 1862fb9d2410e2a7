package dev.vllmrouter.tracing;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.metrics.MeterProvider;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;

/**
 * Tracing on, with the OpenTelemetry SDK: an {@link SdkTracerProvider} of its own (never the global one) with the
 * configured resource, {@link RatioSampler} (parent-based unless configured otherwise) and a
 * {@link BatchSpanProcessor} in front of the OTLP exporter ({@link OtlpExporters}). The caller's context is read, and
 * the workers' written, by the SDK's {@link W3CTraceContextPropagator}.
 * <p>The batch processor's queue is bounded and its {@code onEnd} never blocks: a slow or absent collector costs
 * dropped spans, not request time. The SDK's own metrics go nowhere (no-op meter provider). Thread-safe.
 */
final class OtelTracer implements Tracing.Engine {
    private static final System.Logger LOG = System.getLogger(OtelTracer.class.getName());
    static final String SCOPE = "dev.vllmrouter.tracing";
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);
    private static final TextMapGetter<Function<String, String>> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Function<String, String> carrier) {
            return List.of(TraceHeaders.TRACEPARENT, TraceHeaders.TRACESTATE);
        }

        @Override
        public String get(Function<String, String> carrier, String key) {
            return carrier == null ? null : carrier.apply(key);
        }
    };

    private final SdkTracerProvider provider;
    private final Tracer tracer;

    OtelTracer(TracingConfig config, SpanProcessor processor, Clock clock, IdGenerator ids) {
        AttributesBuilder resource = Attributes.builder();
        config.resource().forEach(resource::put);
        this.provider = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(resource.build())))
                .setSampler(RatioSampler.of(config.sampling()))
                .addSpanProcessor(processor)
                .setClock(clock)
                .setIdGenerator(ids)
                .setMeterProvider(MeterProvider::noop)
                .build();
        this.tracer = provider.tracerBuilder(SCOPE)
                .setInstrumentationVersion(config.resource().getOrDefault("service.version", "unknown"))
                .build();
    }

    /** The SDK, exporting in batches over OTLP as {@code config} says. */
    static OtelTracer create(TracingConfig config) {
        SpanExporter exporter = OtlpExporters.create(config.export());
        TracingConfig.Batch batch = config.batch();
        SpanProcessor processor = BatchSpanProcessor.builder(exporter)
                .setScheduleDelay(batch.scheduleDelay())
                .setMaxQueueSize(batch.maxQueueSize())
                .setMaxExportBatchSize(batch.maxExportBatchSize())
                .setExporterTimeout(batch.exportTimeout())
                .setMeterProvider(MeterProvider::noop)
                .build();
        LOG.log(Level.INFO, "tracing: OTLP {0} to {1}, sampling ratio {2}{3}, excluded paths {4}",
                config.export().protocol().id(), config.export().endpoint(), config.sampling().ratio(),
                config.sampling().parentBased() ? " (parent-based)" : "", config.excludedPaths());
        return new OtelTracer(config, processor, Clock.getDefault(), IdGenerator.random());
    }

    @Override
    public RequestSpan start(String route, String method, String path, Function<String, String> header) {
        Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), header, HEADERS);
        SpanBuilder builder = tracer.spanBuilder(route == null ? method : method + ' ' + route)
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute("http.request.method", method)
                .setAttribute("url.path", path);
        if (route != null) {
            builder.setAttribute("http.route", route);
        }
        Span span = builder.startSpan();
        if (!span.isRecording()) {
            return new PropagatingSpan(TraceHeaders.of(span.getSpanContext()));
        }
        return new ServerSpan(span, tracer, method, path);
    }

    @Override
    public void close() {
        CompletableResultCode done = provider.shutdown().join(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (!done.isSuccess()) {
            LOG.log(Level.WARNING, "tracing: spans not exported within {0} at shutdown; giving up", CLOSE_TIMEOUT);
        }
    }
}
