package dev.vllmrouter.tracing;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The tracing settings: vllm-router's flags (reference §2.7) over the standard {@code OTEL_*} environment variables
 * (see {@link OtelEnvironment}) over defaults.
 * <ul>
 *   <li>{@code --enable-trace} (off). When off nothing else is read, so a bad {@code OTEL_*} value cannot stop a
 *       router that does not trace.</li>
 *   <li>{@code --otlp-traces-endpoint}: {@code host:port} (vllm-router's form: {@code http://host:port}) or a URL;
 *       unset: {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}, {@code OTEL_EXPORTER_OTLP_ENDPOINT}, then
 *       {@code http://localhost:4317}. The protocol is {@code OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL}, gRPC by
 *       default as in vllm-router.</li>
 *   <li>{@code --otel-sampling-ratio}: when given, {@code ParentBased(TraceIdRatio(ratio))} (vllm-router); unset:
 *       {@code OTEL_TRACES_SAMPLER[_ARG]}, else ratio 1.0, parent-based.</li>
 *   <li>{@code --otel-excluded-paths}: {@link #DEFAULT_EXCLUDED_PATHS}; a non-empty list replaces them.</li>
 * </ul>
 * Invariant: an enabled config has an export target; the ratio is within [0, 1]; the collections are immutable.
 *
 * @param export        where and how spans are sent; {@code null} when disabled
 * @param sampling      the sampler
 * @param excludedPaths request paths (exact match) that get no span, typically health probes
 * @param resource      the resource attributes ({@code service.name} and others)
 * @param batch         the batch span processor's settings
 */
public record TracingConfig(boolean enabled, Export export, Sampling sampling, List<String> excludedPaths,
                            Map<String, String> resource, Batch batch) {
    public static final List<String> DEFAULT_EXCLUDED_PATHS =
            List.of("/health", "/health_generate", "/liveness", "/readiness");
    public static final String DEFAULT_SERVICE_NAME = "vllm-router";

    /**
     * The OTLP exporter's settings.
     *
     * @param endpoint    the full URL: {@code http://host:4317} for gRPC, {@code http://host:4318/v1/traces} for HTTP
     * @param headers     sent with every export (e.g. an API key)
     * @param timeout     per export
     * @param compression {@code gzip} or {@code none}
     */
    public record Export(OtlpProtocol protocol, URI endpoint, Map<String, String> headers, Duration timeout,
                         String compression) {
        public Export {
            headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        }

        /** Header values left out: they are often credentials. */
        @Override
        public String toString() {
            return "Export[protocol=" + protocol.id() + ", endpoint=" + endpoint + ", headers=" + headers.keySet()
                    + ", timeout=" + timeout + ", compression=" + compression + "]";
        }
    }

    /**
     * The sampler: {@code TraceIdRatio(ratio)} ({@link RatioSampler}), inside {@code ParentBased} when
     * {@code parentBased}, which makes a caller's sampled flag decide.
     */
    public record Sampling(boolean parentBased, double ratio) {
        public Sampling {
            if (!(ratio >= 0 && ratio <= 1)) {
                throw new IllegalArgumentException("--otel-sampling-ratio must be within [0, 1], not " + ratio);
            }
        }
    }

    /**
     * The batch span processor: spans wait at most {@code scheduleDelay}, or until {@code maxExportBatchSize} are
     * ready; a full queue ({@code maxQueueSize}) drops spans, never blocks a request.
     */
    public record Batch(Duration scheduleDelay, int maxQueueSize, int maxExportBatchSize, Duration exportTimeout) {
        /** vllm-router's settings (0.5 s, 64 per batch) and the SDK's queue size and export timeout. */
        public static final Batch DEFAULT = new Batch(Duration.ofMillis(500), 2048, 64, Duration.ofSeconds(30));

        public Batch {
            if (maxExportBatchSize > maxQueueSize) {
                throw new IllegalArgumentException("OTEL_BSP_MAX_EXPORT_BATCH_SIZE (" + maxExportBatchSize
                        + ") must not exceed OTEL_BSP_MAX_QUEUE_SIZE (" + maxQueueSize + ")");
            }
        }
    }

    public TracingConfig {
        if (enabled && export == null) {
            throw new IllegalArgumentException("tracing is enabled but has no OTLP export settings");
        }
        excludedPaths = List.copyOf(excludedPaths);
        resource = Collections.unmodifiableMap(new LinkedHashMap<>(resource));
    }

    /**
     * Applies the flags over the environment over the defaults.
     *
     * @param enableTrace    {@code --enable-trace}
     * @param tracesEndpoint {@code --otlp-traces-endpoint}, or {@code null} when not given
     * @param samplingRatio  {@code --otel-sampling-ratio}, or {@code null} when not given
     * @param excludedPaths  {@code --otel-excluded-paths}; {@code null} or empty means the defaults
     * @param env            the process environment (passed in, so tests need none); only {@code OTEL_*},
     *                       {@code HOSTNAME} and {@code HOST} are read, and only when tracing is on
     * @throws IllegalArgumentException naming the flag or variable whose value is bad
     */
    public static TracingConfig of(boolean enableTrace, String tracesEndpoint, Double samplingRatio,
                                   List<String> excludedPaths, Map<String, String> env) {
        List<String> excluded = excludedPaths == null || excludedPaths.isEmpty() ? DEFAULT_EXCLUDED_PATHS
                : excludedPaths;
        Sampling flagSampling = samplingRatio == null ? null : new Sampling(true, samplingRatio);
        if (!enableTrace) {
            return new TracingConfig(false, null, flagSampling != null ? flagSampling : new Sampling(true, 1.0),
                    excluded, Map.of("service.name", DEFAULT_SERVICE_NAME), Batch.DEFAULT);
        }
        OtelEnvironment otel = new OtelEnvironment(env);
        OtlpProtocol protocol = otel.protocol();
        Export export = new Export(protocol, otel.endpoint(tracesEndpoint, protocol), otel.headers(),
                otel.timeout(), otel.compression());
        Sampling sampling = flagSampling != null ? flagSampling
                : otel.sampling() != null ? otel.sampling() : new Sampling(true, 1.0);
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("service.name", DEFAULT_SERVICE_NAME);
        defaults.put("service.version", version());
        defaults.put("service.instance.id", instanceId(otel));
        return new TracingConfig(true, export, sampling, excluded, otel.resource(defaults), otel.batch());
    }

    /** Tracing off, with the other settings at their defaults. */
    public static TracingConfig disabled() {
        return of(false, null, null, null, Map.of());
    }

    /** vllm-router's {@code service.instance.id}: the host name and the process id. */
    private static String instanceId(OtelEnvironment otel) {
        String host = otel.value("HOSTNAME") != null ? otel.value("HOSTNAME") : otel.value("HOST");
        long pid = ProcessHandle.current().pid();
        return host != null ? host + "-" + pid : "pid-" + pid;
    }

    /** The router's version, from the build ({@code dev/vllmrouter/version.properties}). */
    private static String version() {
        try (InputStream in = TracingConfig.class.getResourceAsStream("/dev/vllmrouter/version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
