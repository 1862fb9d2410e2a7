package dev.vllmrouter.tracing;

import java.net.URI;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * One sampled upstream call: the CLIENT span named {@code <method>}, child of the request's SERVER span, with the
 * HTTP client attributes of the OTel semantic conventions ({@code http.request.method}, {@code server.address},
 * {@code server.port}, {@code url.full}, {@code http.response.status_code}) and the router's
 * ({@code vllm_router.worker}, {@code vllm_router.attempt}, {@code vllm_router.phase}). Status ERROR on 4xx and 5xx,
 * as the conventions ask of client spans. Its {@link #traceparent()} names this span, so the worker's spans hang
 * under it.
 */
final class ClientSpan extends RecordingSpan implements UpstreamSpan {
    private final String traceparent;

    ClientSpan(TraceContext context, String parentSpanId, String method, String path, String workerId,
               String workerUrl, int attempt, String phase, LongSupplier clock, Consumer<SpanData> sink) {
        super(context, parentSpanId, method, SpanData.Kind.CLIENT, clock, sink);
        this.traceparent = context.traceparent();
        set("http.request.method", method);
        setServer(workerUrl, path);
        set("vllm_router.worker", workerId);
        set("vllm_router.attempt", (long) attempt);
        set("vllm_router.phase", phase);
    }

    private void setServer(String workerUrl, String path) {
        try {
            URI uri = workerUrl == null ? null : URI.create(workerUrl);
            if (uri != null && uri.getHost() != null) {
                set("server.address", uri.getHost());
                if (uri.getPort() > 0) {
                    set("server.port", (long) uri.getPort());
                }
                if (path != null) {
                    set("url.full", stripSlash(workerUrl) + path);
                }
            }
        } catch (IllegalArgumentException e) {
            // not a URL (a test name, a unix socket...): the span still has vllm_router.worker
        }
    }

    private static String stripSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    @Override
    public String traceparent() {
        return traceparent;
    }

    @Override
    public String tracestate() {
        return context.traceState();
    }

    @Override
    public void firstToken() {
        eventOnce("first_token");
    }

    @Override
    public void error(String message) {
        fail(message);
    }

    @Override
    public void end(int status) {
        finish(status, status >= 400);
    }

    /** The request ended while this call was still open (an exception skipped its end): close it with no status. */
    void endWithParent() {
        finish(0, false);
    }
}
