package dev.vllmrouter.tracing;

import java.net.URI;
import java.util.concurrent.atomic.AtomicBoolean;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;

/**
 * One sampled upstream call: the SDK's CLIENT span named {@code <method>}, child of the request's SERVER span, with
 * the HTTP client attributes of the OTel semantic conventions ({@code http.request.method}, {@code server.address},
 * {@code server.port}, {@code url.full}, {@code http.response.status_code}) and the router's
 * ({@code vllm_router.worker}, {@code vllm_router.attempt}, {@code vllm_router.phase}). Status ERROR on 4xx and 5xx,
 * as the conventions ask of client spans. Its {@link #traceparent()} names this span, so the worker's spans hang
 * under it.
 * <p>Invariant: the span ends once, by {@link #end} or by its parent's end, whichever comes first. Thread-safe.
 */
final class ClientSpan implements UpstreamSpan {
    private final Span span;
    private final TraceHeaders headers;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final AtomicBoolean firstToken = new AtomicBoolean();
    private volatile boolean failed;

    ClientSpan(SpanBuilder builder, String method, String path, String workerId, String workerUrl, int attempt,
               String phase) {
        builder.setAttribute("http.request.method", method);
        setServer(builder, workerUrl, path);
        if (workerId != null) {
            builder.setAttribute("vllm_router.worker", workerId);
        }
        builder.setAttribute("vllm_router.attempt", (long) attempt);
        if (phase != null) {
            builder.setAttribute("vllm_router.phase", phase);
        }
        this.span = builder.startSpan();
        this.headers = TraceHeaders.of(span.getSpanContext());
    }

    private static void setServer(SpanBuilder builder, String workerUrl, String path) {
        try {
            URI uri = workerUrl == null ? null : URI.create(workerUrl);
            if (uri != null && uri.getHost() != null) {
                builder.setAttribute("server.address", uri.getHost());
                if (uri.getPort() > 0) {
                    builder.setAttribute("server.port", (long) uri.getPort());
                }
                if (path != null) {
                    builder.setAttribute("url.full", stripSlash(workerUrl) + path);
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
        return headers.traceparent();
    }

    @Override
    public String tracestate() {
        return headers.tracestate();
    }

    @Override
    public void firstToken() {
        if (!ended.get() && firstToken.compareAndSet(false, true)) {
            span.addEvent("first_token");
        }
    }

    @Override
    public void error(String message) {
        if (!ended.get()) {
            failed = true;
            span.setStatus(StatusCode.ERROR, message == null ? "" : message);
        }
    }

    @Override
    public void end(int status) {
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        if (status > 0) {
            span.setAttribute("http.response.status_code", (long) status);
        }
        if (status >= 400) {
            span.setAttribute("error.type", Integer.toString(status));
            if (!failed) { // keep the message of an earlier error()
                span.setStatus(StatusCode.ERROR);
            }
        }
        span.end();
    }

    /** The request ended while this call was still open (an exception skipped its end): close it with no status. */
    void endWithParent() {
        if (ended.compareAndSet(false, true)) {
            span.end();
        }
    }
}
