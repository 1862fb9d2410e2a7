package dev.vllmrouter.tracing;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * A sampled request: the SERVER span named {@code <method> <route>}, with the HTTP server attributes of the OTel
 * semantic conventions ({@code http.request.method}, {@code url.path}, {@code http.route},
 * {@code http.response.status_code}) and the router's own ({@code vllm_router.request_id},
 * {@code gen_ai.request.model}). Status ERROR on 5xx only: a 4xx is the client's mistake, not the router's failure.
 * <p>Invariant: when it ends, every upstream span it started has ended too (open ones end with it).
 */
final class ServerSpan extends RecordingSpan implements RequestSpan {
    private final String method;
    private final String path;
    private final LongSupplier ids;
    private final List<ClientSpan> attempts = new ArrayList<>(1);

    ServerSpan(TraceContext context, String parentSpanId, String route, String method, String path,
               LongSupplier clock, LongSupplier ids, Consumer<SpanData> sink) {
        super(context, parentSpanId, route == null ? method : method + ' ' + route, SpanData.Kind.SERVER, clock, sink);
        this.method = method;
        this.path = path;
        this.ids = ids;
        set("http.request.method", method);
        set("url.path", path);
        set("http.route", route);
    }

    @Override
    public boolean recording() {
        return true;
    }

    @Override
    public void requestId(String requestId) {
        set("vllm_router.request_id", requestId);
    }

    @Override
    public void model(String model) {
        set("gen_ai.request.model", model);
    }

    @Override
    public void attribute(String key, String value) {
        set(key, value);
    }

    @Override
    public UpstreamSpan attempt(String workerId, String workerUrl, int attempt, String phase) {
        ClientSpan span = new ClientSpan(context.withSpanId(TraceContext.newSpanId(ids)), context.spanId(),
                method, path, workerId, workerUrl, attempt, phase, clock, sink);
        synchronized (this) {
            attempts.add(span);
        }
        return span;
    }

    @Override
    public void error(String message) {
        fail(message);
    }

    @Override
    public void end(int status) {
        List<ClientSpan> children;
        synchronized (this) {
            children = List.copyOf(attempts);
            attempts.clear();
        }
        for (ClientSpan child : children) {
            child.endWithParent(); // no-op for those that ended on their own
        }
        finish(status, status >= 500);
    }
}
