package dev.vllmrouter.tracing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;

/**
 * A sampled request: the SDK's SERVER span named {@code <method> <route>}, with the HTTP server attributes of the
 * OTel semantic conventions ({@code http.request.method}, {@code url.path}, {@code http.route},
 * {@code http.response.status_code}) and the router's own ({@code vllm_router.request_id},
 * {@code gen_ai.request.model}). Status ERROR on 5xx only: a 4xx is the client's mistake, not the router's failure.
 * <p>Invariants: the span ends once (a second {@link #end} is ignored); when it ends, every upstream span it started
 * has ended too (open ones end with it, first). Thread-safe: the SDK span is; the list of attempts is guarded by
 * this object's monitor, held for a list operation only (never while a span ends).
 */
final class ServerSpan implements RequestSpan {
    private final Span span;
    private final Tracer tracer;
    private final Context context;
    private final String method;
    private final String path;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final List<ClientSpan> attempts = new ArrayList<>(1);
    /** Guards {@link #attempts}; a lock, not a monitor, so a waiting virtual thread never pins its carrier (JDK 21). */
    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean failed;

    ServerSpan(Span span, Tracer tracer, String method, String path) {
        this.span = span;
        this.tracer = tracer;
        this.context = Context.root().with(span);
        this.method = method;
        this.path = path;
    }

    @Override
    public boolean recording() {
        return true;
    }

    @Override
    public void requestId(String requestId) {
        attribute("vllm_router.request_id", requestId);
    }

    @Override
    public void model(String model) {
        attribute("gen_ai.request.model", model);
    }

    @Override
    public void attribute(String key, String value) {
        if (key != null && value != null && !ended.get()) {
            span.setAttribute(key, value);
        }
    }

    @Override
    public UpstreamSpan attempt(String workerId, String workerUrl, int attempt, String phase) {
        ClientSpan child = new ClientSpan(tracer.spanBuilder(method).setParent(context).setSpanKind(SpanKind.CLIENT),
                method, path, workerId, workerUrl, attempt, phase);
        lock.lock();
        try {
            attempts.add(child);
        } finally {
            lock.unlock();
        }
        return child;
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
        List<ClientSpan> children;
        lock.lock();
        try {
            children = List.copyOf(attempts);
            attempts.clear();
        } finally {
            lock.unlock();
        }
        for (ClientSpan child : children) {
            child.endWithParent(); // no-op for those that ended on their own
        }
        if (status > 0) {
            span.setAttribute("http.response.status_code", (long) status);
        }
        if (status >= 500) {
            span.setAttribute("error.type", Integer.toString(status));
            if (!failed) { // keep the message of an earlier error()
                span.setStatus(StatusCode.ERROR);
            }
        }
        span.end();
    }
}
