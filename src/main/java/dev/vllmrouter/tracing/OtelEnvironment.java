package dev.vllmrouter.tracing;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the standard OpenTelemetry SDK environment variables that apply to the router's tracing, from a map handed
 * in (the process environment in production, a literal map in tests): the OTLP exporter's
 * ({@code OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL / ENDPOINT / HEADERS / TIMEOUT / COMPRESSION}), the resource's
 * ({@code OTEL_SERVICE_NAME}, {@code OTEL_RESOURCE_ATTRIBUTES}), the sampler's ({@code OTEL_TRACES_SAMPLER[_ARG]})
 * and the batch processor's ({@code OTEL_BSP_*}). A {@code TRACES_} variable wins over its general form, as the
 * specification says; a blank value counts as unset.
 * <p>This is a mapping of our own rather than the SDK's autoconfigure module: that module reads the process
 * environment itself, would also set up metric and log exporters, and knows nothing of vllm-router's flags, which
 * win over these variables (see {@link TracingConfig#of}). Pure: no OpenTelemetry class is touched, so parsing costs
 * nothing at start-up. A bad value is an {@link IllegalArgumentException} that names the variable.
 */
final class OtelEnvironment {
    static final String PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL";
    static final String ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT";
    static final String TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    static final String HEADERS = "OTEL_EXPORTER_OTLP_HEADERS";
    static final String TIMEOUT = "OTEL_EXPORTER_OTLP_TIMEOUT";
    static final String COMPRESSION = "OTEL_EXPORTER_OTLP_COMPRESSION";
    static final String SERVICE_NAME = "OTEL_SERVICE_NAME";
    static final String RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES";
    static final String SAMPLER = "OTEL_TRACES_SAMPLER";
    static final String SAMPLER_ARG = "OTEL_TRACES_SAMPLER_ARG";
    static final String TRACES_PATH = "/v1/traces";
    /** OTel's default exporter timeout. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private final Map<String, String> env;

    OtelEnvironment(Map<String, String> env) {
        this.env = env == null ? Map.of() : env;
    }

    /** The variable's value, stripped; {@code null} when unset or blank. */
    String value(String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? null : v.strip();
    }

    /** The name of the variable to read for an exporter setting: its {@code TRACES_} form when that is set. */
    private String signal(String general) {
        String traces = general.replace("OTEL_EXPORTER_OTLP_", "OTEL_EXPORTER_OTLP_TRACES_");
        return value(traces) != null ? traces : general;
    }

    /** {@code OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL}; gRPC when unset. */
    OtlpProtocol protocol() {
        String name = signal(PROTOCOL);
        String v = value(name);
        return v == null ? OtlpProtocol.GRPC : OtlpProtocol.of(v, name);
    }

    /**
     * Where spans go. The flag ({@code --otlp-traces-endpoint}) wins, then {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}
     * (used as it is), then {@code OTEL_EXPORTER_OTLP_ENDPOINT}, then {@code http://localhost:4317} (gRPC) or
     * {@code http://localhost:4318/v1/traces} (HTTP). {@code host:port} means {@code http://host:port}. Over HTTP
     * the flag and the general variable are a base to which {@code /v1/traces} is added (unless it is there already);
     * gRPC needs no path.
     *
     * @param flag {@code --otlp-traces-endpoint}, or {@code null}
     */
    URI endpoint(String flag, OtlpProtocol protocol) {
        if (flag != null && !flag.isBlank()) {
            return forProtocol(url(flag, "--otlp-traces-endpoint"), protocol);
        }
        String traces = value(TRACES_ENDPOINT);
        if (traces != null) {
            return url(traces, TRACES_ENDPOINT);
        }
        String general = value(ENDPOINT);
        String base = general != null ? general : "http://localhost:" + protocol.defaultPort();
        return forProtocol(url(base, ENDPOINT), protocol);
    }

    private static URI forProtocol(URI base, OtlpProtocol protocol) {
        if (protocol == OtlpProtocol.GRPC) {
            return base;
        }
        String path = base.getRawPath() == null ? "" : base.getRawPath();
        if (path.endsWith(TRACES_PATH)) {
            return base;
        }
        return base.resolve((path.endsWith("/") ? path.substring(0, path.length() - 1) : path) + TRACES_PATH);
    }

    /** {@code host:port} or an http(s) URL without query or fragment. */
    static URI url(String value, String source) {
        String v = value.strip();
        URI uri;
        try {
            uri = new URI(v.contains("://") ? v : "http://" + v);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(source + ": invalid OTLP endpoint '" + value + "': " + e.getMessage(),
                    e);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null
                || uri.getQuery() != null || uri.getFragment() != null) {
            throw new IllegalArgumentException(source + ": invalid OTLP endpoint '" + value
                    + "': expected host:port or http(s)://host:port[/path]");
        }
        return uri;
    }

    /** {@code OTEL_EXPORTER_OTLP_[TRACES_]HEADERS}: {@code k=v,k2=v2}, values percent-decoded. */
    Map<String, String> headers() {
        String name = signal(HEADERS);
        return keyValues(value(name), name);
    }

    /** {@code OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT}: per export, milliseconds; 10 s when unset. */
    Duration timeout() {
        String name = signal(TIMEOUT);
        return duration(name, DEFAULT_TIMEOUT);
    }

    /** {@code OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION}: {@code gzip} or {@code none} (the default). */
    String compression() {
        String name = signal(COMPRESSION);
        String v = value(name);
        if (v == null) {
            return "none";
        }
        String c = v.toLowerCase(Locale.ROOT);
        if (!c.equals("gzip") && !c.equals("none")) {
            throw new IllegalArgumentException(name + ": '" + v + "' is not gzip or none");
        }
        return c;
    }

    /**
     * {@code OTEL_TRACES_SAMPLER} and {@code OTEL_TRACES_SAMPLER_ARG}: {@code always_on}, {@code always_off},
     * {@code traceidratio} and their {@code parentbased_} forms; {@code null} when unset.
     */
    TracingConfig.Sampling sampling() {
        String name = value(SAMPLER);
        if (name == null) {
            return null;
        }
        String sampler = name.toLowerCase(Locale.ROOT);
        boolean parentBased = sampler.startsWith("parentbased_");
        String root = parentBased ? sampler.substring("parentbased_".length()) : sampler;
        double ratio = switch (root) {
            case "always_on" -> 1.0;
            case "always_off" -> 0.0;
            case "traceidratio" -> ratioArg();
            default -> throw new IllegalArgumentException(SAMPLER + ": '" + name + "' is not one of always_on,"
                    + " always_off, traceidratio, parentbased_always_on, parentbased_always_off,"
                    + " parentbased_traceidratio");
        };
        return new TracingConfig.Sampling(parentBased, ratio);
    }

    private double ratioArg() {
        String arg = value(SAMPLER_ARG);
        if (arg == null) {
            return 1.0;
        }
        try {
            double ratio = Double.parseDouble(arg);
            if (ratio >= 0 && ratio <= 1) {
                return ratio;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(SAMPLER_ARG + ": '" + arg + "' is not a ratio within [0, 1]");
    }

    /**
     * The resource attributes: {@code defaults}, then {@code OTEL_RESOURCE_ATTRIBUTES} ({@code k=v,...}), then
     * {@code OTEL_SERVICE_NAME} as {@code service.name}; later ones win.
     */
    Map<String, String> resource(Map<String, String> defaults) {
        Map<String, String> attributes = new LinkedHashMap<>(defaults);
        attributes.putAll(keyValues(value(RESOURCE_ATTRIBUTES), RESOURCE_ATTRIBUTES));
        String service = value(SERVICE_NAME);
        if (service != null) {
            attributes.put("service.name", service);
        }
        return Collections.unmodifiableMap(attributes);
    }

    /** {@code OTEL_BSP_*}, with vllm-router's batch settings (0.5 s, 64 spans) where unset. */
    TracingConfig.Batch batch() {
        TracingConfig.Batch d = TracingConfig.Batch.DEFAULT;
        return new TracingConfig.Batch(
                duration("OTEL_BSP_SCHEDULE_DELAY", d.scheduleDelay()),
                count("OTEL_BSP_MAX_QUEUE_SIZE", d.maxQueueSize()),
                count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", d.maxExportBatchSize()),
                duration("OTEL_BSP_EXPORT_TIMEOUT", d.exportTimeout()));
    }

    /** Milliseconds, as the specification has it; a unit ({@code ms}, {@code s}, {@code m}) is accepted too. */
    private Duration duration(String name, Duration otherwise) {
        String v = value(name);
        if (v == null) {
            return otherwise;
        }
        String digits = v;
        long unitMillis = 1;
        if (v.endsWith("ms")) {
            digits = v.substring(0, v.length() - 2);
        } else if (v.endsWith("s")) {
            digits = v.substring(0, v.length() - 1);
            unitMillis = 1_000;
        } else if (v.endsWith("m")) {
            digits = v.substring(0, v.length() - 1);
            unitMillis = 60_000;
        }
        try {
            long n = Long.parseLong(digits.strip());
            if (n >= 0) {
                return Duration.ofMillis(Math.multiplyExact(n, unitMillis));
            }
        } catch (NumberFormatException | ArithmeticException e) {
            // reported below
        }
        throw new IllegalArgumentException(name + ": '" + v + "' is not a duration in milliseconds");
    }

    private int count(String name, int otherwise) {
        String v = value(name);
        if (v == null) {
            return otherwise;
        }
        try {
            int n = Integer.parseInt(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(name + ": '" + v + "' is not a positive integer");
    }

    /** {@code k=v,k2=v2} (W3C baggage style): keys and values stripped, values percent-decoded. */
    static Map<String, String> keyValues(String list, String source) {
        Map<String, String> out = new LinkedHashMap<>();
        if (list == null) {
            return out;
        }
        for (String entry : list.split(",")) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            String key = eq < 0 ? "" : entry.substring(0, eq).strip();
            if (key.isEmpty()) {
                throw new IllegalArgumentException(source + ": '" + entry.strip() + "' is not key=value");
            }
            try {
                out.put(key, URLDecoder.decode(entry.substring(eq + 1).strip(), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": bad percent-encoding in '" + entry.strip() + "'", e);
            }
        }
        return out;
    }
}
