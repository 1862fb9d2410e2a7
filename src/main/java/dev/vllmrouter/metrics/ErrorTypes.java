package dev.vllmrouter.metrics;

/**
 * The values of the {@code error_type} label of {@code vllm_router_request_errors_total}: a bounded set, so the
 * label's cardinality stays small. vllm-router's own names are kept where it has one ({@code no_available_workers}).
 */
public final class ErrorTypes {
    /** The client sent something the router refuses (malformed or non-object JSON, wrong Content-Type, ...). */
    public static final String BAD_REQUEST = "bad_request";
    public static final String MODEL_NOT_FOUND = "model_not_found";
    /** No valid API key (401). */
    public static final String UNAUTHORIZED = "unauthorized";
    public static final String PAYLOAD_TOO_LARGE = "payload_too_large";
    /** Admission: the queue was full (429). */
    public static final String RATE_LIMITED = "rate_limited";
    /** Admission queue or request body timeout (408). */
    public static final String REQUEST_TIMEOUT = "request_timeout";
    /** No usable worker (none registered, all unhealthy, every circuit open) or draining (503). */
    public static final String NO_AVAILABLE_WORKERS = "no_available_workers";
    /** No worker could be reached, or one failed while answering (502). */
    public static final String UPSTREAM_ERROR = "upstream_error";
    /** A worker did not answer in time (504). */
    public static final String UPSTREAM_TIMEOUT = "upstream_timeout";
    /** A worker's own 4xx, passed on. */
    public static final String WORKER_CLIENT_ERROR = "worker_client_error";
    /** A worker's own 5xx, passed on (after retries). */
    public static final String WORKER_SERVER_ERROR = "worker_server_error";
    /** The client left before it could be answered. */
    public static final String CLIENT_CLOSED = "client_closed";
    /** A bug in the router (500). */
    public static final String INTERNAL = "internal";

    private ErrorTypes() {
    }

    /** The type of an error the router answered itself with {@code status}. */
    public static String ofRouterStatus(int status) {
        return switch (status) {
            case 400, 405, 415 -> BAD_REQUEST;
            case 401 -> UNAUTHORIZED;
            case 404 -> MODEL_NOT_FOUND;
            case 408 -> REQUEST_TIMEOUT;
            case 413 -> PAYLOAD_TOO_LARGE;
            case 429 -> RATE_LIMITED;
            case 499 -> CLIENT_CLOSED;
            case 502 -> UPSTREAM_ERROR;
            case 503 -> NO_AVAILABLE_WORKERS;
            case 504 -> UPSTREAM_TIMEOUT;
            default -> status >= 500 ? INTERNAL : BAD_REQUEST;
        };
    }

    /** The type of a worker's own error status passed on to the client. */
    public static String ofWorkerStatus(int status) {
        return status >= 500 ? WORKER_SERVER_ERROR : WORKER_CLIENT_ERROR;
    }
}
