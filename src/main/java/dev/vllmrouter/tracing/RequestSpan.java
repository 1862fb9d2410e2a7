package dev.vllmrouter.tracing;

/**
 * The trace of one client request through the router: an OTel SERVER span, from {@link Tracing#start}.
 * <p>Call {@link #end(int)} exactly once when the answer is over (later calls are ignored); it also ends any
 * {@link #attempt upstream span} left open, so a child never outlives its parent. Setters called after the end are
 * ignored. {@link #NOOP} (tracing off, excluded path) does nothing and allocates nothing, so callers never test for
 * {@code null} or for "tracing on". Thread-safe.
 */
public interface RequestSpan {
    /** Records nothing, propagates nothing. */
    RequestSpan NOOP = NoopSpan.INSTANCE;

    /** Whether this span is exported; lets a caller skip work done only to fill attributes. */
    boolean recording();

    /** {@code vllm_router.request_id}. */
    void requestId(String requestId);

    /** {@code gen_ai.request.model}, once the body has been read. */
    void model(String model);

    /** Any other string attribute (for example the policy's decision); {@code null} values are skipped. */
    void attribute(String key, String value);

    /** Starts the CLIENT span of one upstream call; phase {@code inference}. */
    default UpstreamSpan attempt(String workerId, String workerUrl, int attempt) {
        return attempt(workerId, workerUrl, attempt, "inference");
    }

    /**
     * Starts the CLIENT span of one upstream call.
     *
     * @param workerId  {@code vllm_router.worker}
     * @param workerUrl the worker's base URL ({@code server.address}, {@code server.port}, {@code url.full})
     * @param attempt   {@code vllm_router.attempt}, 1 for the first try
     * @param phase     {@code vllm_router.phase}: {@code inference}, {@code prefill} or {@code decode}
     */
    UpstreamSpan attempt(String workerId, String workerUrl, int attempt, String phase);

    /** Marks the request failed (span status ERROR) with a reason, e.g. "no healthy worker". Does not end it. */
    void error(String message);

    /** Ends the span: {@code http.response.status_code}; status ERROR when it is 5xx. */
    void end(int status);
}
