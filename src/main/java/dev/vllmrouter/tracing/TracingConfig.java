package dev.vllmrouter.tracing;

import java.util.List;

/**
 * The tracing settings, from vllm-router's flags (reference §2.7): {@code --enable-trace} (off),
 * {@code --otlp-traces-endpoint} ({@code host:port} or a URL; unset uses {@code OTEL_EXPORTER_OTLP_ENDPOINT}, then
 * OTel's default {@value #DEFAULT_ENDPOINT}), {@code --otel-sampling-ratio} (1.0, parent-based) and
 * {@code --otel-excluded-paths} ({@link #DEFAULT_EXCLUDED_PATHS}; a non-empty list replaces the defaults).
 * <p>Invariant: the ratio is within [0, 1], the lists are immutable, and an enabled config has an endpoint.
 *
 * @param endpoint      where spans go: {@code host:port} or {@code http(s)://host:port[/path]} (see
 *                      {@link OtlpHttpExporter#tracesUri(String)}); {@code null} when disabled
 * @param excludedPaths request paths (exact match) that get no span, typically health probes
 * @param serviceName   the {@code service.name} resource attribute
 */
public record TracingConfig(boolean enabled, String endpoint, double samplingRatio, List<String> excludedPaths,
                            String serviceName) {
    public static final List<String> DEFAULT_EXCLUDED_PATHS =
            List.of("/health", "/health_generate", "/liveness", "/readiness");
    public static final String DEFAULT_SERVICE_NAME = "vllm-router";
    /** OTel's default OTLP/HTTP endpoint; this exporter speaks OTLP/HTTP, whose port is 4318 (gRPC's is 4317). */
    public static final String DEFAULT_ENDPOINT = "localhost:4318";

    public TracingConfig {
        if (!(samplingRatio >= 0 && samplingRatio <= 1)) {
            throw new IllegalArgumentException("--otel-sampling-ratio must be within [0, 1], not " + samplingRatio);
        }
        if (enabled && (endpoint == null || endpoint.isBlank())) {
            throw new IllegalArgumentException("tracing is enabled but no OTLP endpoint is set");
        }
        if (serviceName == null || serviceName.isBlank()) {
            throw new IllegalArgumentException("service name must not be blank");
        }
        excludedPaths = List.copyOf(excludedPaths);
    }

    /**
     * Applies vllm-router's defaults to the flags as given.
     *
     * @param enableTrace      {@code --enable-trace}
     * @param tracesEndpoint   {@code --otlp-traces-endpoint}, or {@code null} when not given
     * @param envEndpoint      the value of {@code OTEL_EXPORTER_OTLP_ENDPOINT}, or {@code null} (passed in, not read
     *                         here, so that tests need no environment)
     * @param samplingRatio    {@code --otel-sampling-ratio}
     * @param excludedPaths    {@code --otel-excluded-paths}; {@code null} or empty means the defaults
     */
    public static TracingConfig of(boolean enableTrace, String tracesEndpoint, String envEndpoint,
                                   double samplingRatio, List<String> excludedPaths) {
        String endpoint = !isBlank(tracesEndpoint) ? tracesEndpoint.strip()
                : !isBlank(envEndpoint) ? envEndpoint.strip() : DEFAULT_ENDPOINT;
        List<String> excluded = excludedPaths == null || excludedPaths.isEmpty() ? DEFAULT_EXCLUDED_PATHS
                : excludedPaths;
        return new TracingConfig(enableTrace, enableTrace ? endpoint : null, samplingRatio, excluded,
                DEFAULT_SERVICE_NAME);
    }

    /** Tracing off, with the other settings at their defaults. */
    public static TracingConfig disabled() {
        return new TracingConfig(false, null, 1.0, DEFAULT_EXCLUDED_PATHS, DEFAULT_SERVICE_NAME);
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
