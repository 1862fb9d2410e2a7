package dev.vllmrouter.tracing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * OTLP over HTTP with JSON bodies: one {@code POST <endpoint>/v1/traces} per batch, {@code application/json}. Any
 * 2xx is success (a partial-success body is not read: nothing could be done about it); anything else, or no answer
 * within the timeout, is an {@link IOException} for the {@link BatchSpanProcessor} to count and log.
 * <p>JSON rather than protobuf keeps the project free of an OTel or protobuf dependency; every OTLP collector
 * (OpenTelemetry Collector, Jaeger, Tempo) accepts it on port 4318. HTTP/1.1 on purpose: the JDK client would
 * otherwise try an h2c upgrade on {@code http://}, which some collectors reject.
 */
final class OtlpHttpExporter implements SpanExporter {
    static final String TRACES_PATH = "/v1/traces";

    private final URI uri;
    private final String serviceName;
    private final Duration timeout;
    private final HttpClient client;

    OtlpHttpExporter(URI uri, String serviceName, Duration timeout) {
        this.uri = uri;
        this.serviceName = serviceName;
        this.timeout = timeout;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .build();
    }

    /**
     * Where spans are posted, from {@code --otlp-traces-endpoint} or {@code OTEL_EXPORTER_OTLP_ENDPOINT}:
     * {@code host:port} (vllm-router's form) means {@code http://host:port/v1/traces}; a URL is a base to which
     * {@code /v1/traces} is appended (as OTel does with {@code OTEL_EXPORTER_OTLP_ENDPOINT}), unless it already ends
     * with it.
     *
     * @throws IllegalArgumentException when it is neither
     */
    static URI tracesUri(String endpoint) {
        String e = endpoint.strip();
        String url = e.startsWith("http://") || e.startsWith("https://") ? e : "http://" + e;
        URI base;
        try {
            base = new URI(url);
        } catch (java.net.URISyntaxException ex) {
            throw new IllegalArgumentException("invalid OTLP endpoint '" + endpoint + "': " + ex.getMessage(), ex);
        }
        if (base.getHost() == null || base.getQuery() != null || base.getFragment() != null) {
            throw new IllegalArgumentException("invalid OTLP endpoint '" + endpoint
                    + "': expected host:port or http://host:port[/path]");
        }
        String path = base.getRawPath() == null ? "" : base.getRawPath();
        if (!path.endsWith(TRACES_PATH)) {
            path = (path.endsWith("/") ? path.substring(0, path.length() - 1) : path) + TRACES_PATH;
        }
        return base.resolve(path);
    }

    URI uri() {
        return uri;
    }

    @Override
    public void export(List<SpanData> spans) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(OtlpJson.encode(serviceName, spans)))
                .build();
        HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() / 100 != 2) {
            throw new IOException("OTLP collector " + uri + " answered HTTP " + response.statusCode());
        }
    }

    @Override
    public void close() {
        client.shutdownNow();
    }
}
