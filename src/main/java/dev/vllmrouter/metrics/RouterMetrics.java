package dev.vllmrouter.metrics;

/**
 * What the router reports, in domain terms. The request path calls these once per event; implementations must be
 * cheap and thread-safe. Only {@link PrometheusMetrics} knows about Prometheus. Every method has an empty default,
 * so {@link #NOOP} (tests, benchmarks) and partial implementations stay short.
 */
public interface RouterMetrics {
    /**
     * A client request on {@code route} ended with {@code status} after {@code nanos}.
     *
     * @param errorType why it failed ({@link ErrorTypes}), or {@code null} when it succeeded
     * @param pd        whether it ran both stages of prefill/decode disaggregation
     * @param headNanos the time until the answer's head went out: for a stream, when it started; otherwise
     *                  {@code nanos}
     */
    default void requestDone(String route, int status, String errorType, boolean pd, long nanos, long headNanos) {
    }

    /**
     * A failed attempt on {@code route} is retried after {@code backoffNanos}; {@code attempt} is the one that failed.
     *
     * @param phase {@code inference} (a regular request), {@code prefill} or {@code decode}
     */
    default void retry(String route, String phase, int attempt, long backoffNanos) {
    }

    /** No attempt was left for a request on {@code route} (in {@code phase}) that kept failing. */
    default void retriesExhausted(String route, String phase) {
    }

    /** The policy {@code policy} sent a request to {@code worker} for {@code reason}. */
    default void decision(String policy, String worker, String reason) {
    }

    /** The circuit of {@code worker} went from {@code from} to {@code to} (lower-case state names). */
    default void circuitTransition(String worker, String from, String to) {
    }

    /** Admission refused a request: {@code queue_full}, {@code queue_timeout}, {@code client_gone}, {@code draining}. */
    default void admissionRejected(String reason) {
    }

    /** The first event of a stream from {@code worker} arrived {@code nanos} after the request was sent to it. */
    default void firstToken(String worker, long nanos) {
    }

    /** An event of a stream from {@code worker} arrived {@code nanos} after the previous one. */
    default void interToken(String worker, long nanos) {
    }

    /** A stream from {@code worker} broke off (the worker failed or timed out) after it started. */
    default void streamError(String worker, boolean pd) {
    }

    /** The prefill stage of a request went to {@code worker}; {@code ok} whether it succeeded. */
    default void pdPrefill(String worker, boolean ok) {
    }

    /** An attempt of a request's decode stage on {@code worker} ended with {@code status}, or 0 without an answer. */
    default void pdDecode(String worker, int status) {
    }

    /** A prefill/decode request failed before reaching a worker ({@code no_prefill_worker}, ...). */
    default void pdError(String errorType) {
    }

    /** A discovery source published a new view: {@code added} and {@code removed} workers in this update. */
    default void discoveryUpdate(int added, int removed) {
    }

    /** The Prometheus text exposition of every series. */
    default String scrape() {
        return "";
    }

    RouterMetrics NOOP = new RouterMetrics() {
    };
}
