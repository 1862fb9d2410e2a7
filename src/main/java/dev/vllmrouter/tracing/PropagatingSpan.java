package dev.vllmrouter.tracing;

/**
 * A request that is traced but not sampled: nothing is recorded, but every upstream call carries the trace id with
 * the sampled flag off, so the workers make the same (parent-based) decision and the trace stays whole or absent
 * everywhere. Both the request and all its attempts share this one immutable object. Thread-safe.
 */
final class PropagatingSpan implements RequestSpan, UpstreamSpan {
    private final String traceparent;
    private final String tracestate;

    PropagatingSpan(TraceHeaders headers) {
        this.traceparent = headers.traceparent();
        this.tracestate = headers.tracestate();
    }

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
        return traceparent;
    }

    @Override
    public String tracestate() {
        return tracestate;
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
