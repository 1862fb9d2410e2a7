package dev.vllmrouter.metrics;

import java.util.Map;

import dev.vllmrouter.fault.RetryDecision;

/**
 * Which requests vllm-router's own request series count, so that dashboards built on the Rust router read the same
 * here (its {@code route_typed_request}): only its typed routes in regular mode, once per request after retries —
 * {@code vllm_router_requests_total} and the durations on a 2xx answer, {@code vllm_router_request_errors_total}
 * with {@code no_available_workers} or {@code non_retryable_error}. Refusals before a request reaches its route
 * (bad JSON, body too large, no key, admission) are not counted there, as in vllm-router; this router's
 * {@code vllm_router_http_*} series count every request.
 */
final class VllmRouterSeries {
    /** vllm-router's typed routes → its {@code route} label ({@code /rerank} is handled as {@code /v1/rerank}). */
    private static final Map<String, String> TYPED = Map.of(
            "/generate", "/generate",
            "/inference/v1/generate", "/inference/v1/generate",
            "/v1/chat/completions", "/v1/chat/completions",
            "/v1/completions", "/v1/completions",
            "/v1/embeddings", "/v1/embeddings",
            "/v1/rerank", "/v1/rerank",
            "/rerank", "/v1/rerank");

    private VllmRouterSeries() {
    }

    /** The {@code route} label vllm-router gives {@code route}, or {@code null} when it counts no such request. */
    static String typedRoute(String route) {
        return TYPED.get(route);
    }

    /**
     * vllm-router's {@code error_type} for a typed request that did not succeed, or {@code null} when it counts none:
     * {@code no_available_workers} when no worker was usable; {@code non_retryable_error} when the final answer
     * (a worker's, or this router's 404 for a model no worker serves, which vllm-router gets from a worker) has a
     * status outside 408/429/500/502/503/504; nothing for a retryable final status (vllm-router counts those as
     * retries exhausted) nor for refusals before dispatch.
     */
    static String errorType(int status, String errorType) {
        if (ErrorTypes.NO_AVAILABLE_WORKERS.equals(errorType)) {
            return "no_available_workers";
        }
        if (!dispatched(errorType) || RetryDecision.isRetryableStatus(status)) {
            return null;
        }
        return "non_retryable_error";
    }

    /** Whether a request that ended with {@code errorType} got as far as its route's worker call. */
    static boolean dispatched(String errorType) {
        return errorType == null || switch (errorType) {
            case ErrorTypes.WORKER_CLIENT_ERROR, ErrorTypes.WORKER_SERVER_ERROR, ErrorTypes.MODEL_NOT_FOUND,
                 ErrorTypes.NO_AVAILABLE_WORKERS, ErrorTypes.UPSTREAM_ERROR, ErrorTypes.UPSTREAM_TIMEOUT,
                 ErrorTypes.INTERNAL -> true;
            default -> false;
        };
    }
}
