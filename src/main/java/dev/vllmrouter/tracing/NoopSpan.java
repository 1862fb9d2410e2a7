package dev.vllmrouter.tracing;

/**
 * Tracing off: one shared instance whose methods do nothing, so the request path pays a virtual call and no
 * allocation. Stateless, hence thread-safe.
 */
enum NoopSpan implements RequestSpan, UpstreamSpan {
    INSTANCE;

    @Override
    public boolean recording() {
        return false;
    }

    @Override
    public void requestId(String requestId) {
    }

    @Override
    public void model(String model) {
    }

    @Override
    public void attribute(String key, String value) {
    }

    @Override
    public UpstreamSpan attempt(String workerId, String workerUrl, int attempt, String phase) {
        return this;
    }

    @Override
    public String traceparent() {
        return null;
    }

    @Override
    public String tracestate() {
        return null;
    }

    @Override
    public void firstToken() {
    }

    @Override
    public void error(String message) {
    }

    @Override
    public void end(int status) {
    }
}
