package dev.vllmrouter.tracing;

/**
 * The trace of one call from the router to a worker: an OTel CLIENT span, from {@link RequestSpan#attempt}, and the
 * trace headers that call carries.
 * <p>When {@link #traceparent()} is not {@code null} the caller sends it (and {@link #tracestate()} when not
 * {@code null}) instead of the client's own trace headers; when it is {@code null} the caller leaves the client's
 * headers as they are. Call {@link #end(int)} once the worker's answer has been relayed, or failed. Thread-safe.
 */
public interface UpstreamSpan {
    /** Records nothing, propagates nothing. */
    UpstreamSpan NOOP = NoopSpan.INSTANCE;

    /** The {@code traceparent} for the outgoing request, or {@code null} to send none of the router's own. */
    String traceparent();

    /** The {@code tracestate} for the outgoing request, or {@code null} for none. */
    String tracestate();

    /** Adds the event {@code first_token} (the first streamed chunk came back); only the first call counts. */
    void firstToken();

    /** Marks the call failed (span status ERROR), e.g. with the transport error. Does not end it. */
    void error(String message);

    /**
     * Ends the span: {@code http.response.status_code} and status ERROR when 4xx or 5xx (the semantic conventions
     * for client spans).
     *
     * @param status the worker's HTTP status, or 0 when no response came
     */
    void end(int status);
}
