package dev.vllmrouter.openai;

/**
 * Thrown on the request path when the router itself answers with an error; the server maps it to the OpenAI error JSON
 * and its status. Stack traces are not filled: these are expected outcomes, not bugs.
 * <p>An error about a worker ({@link #upstream}) keeps its {@link #detail()} — the worker's URL, the exception — for
 * the router's log only; the client gets a generic message with its request id, so that a 502 or 504 tells no client
 * the fleet's addresses or the router's internals.
 */
public final class RouterException extends RuntimeException {
    private final OpenAiError error;
    private final int retryAfterSeconds;
    private final String detail;

    public RouterException(ErrorKind kind, String message) {
        this(OpenAiError.of(kind, message), null);
    }

    public RouterException(ErrorKind kind, String message, Throwable cause) {
        this(OpenAiError.of(kind, message), cause);
    }

    public RouterException(OpenAiError error, Throwable cause) {
        this(error, cause, 0);
    }

    /** @param retryAfterSeconds the answer's {@code Retry-After} in seconds; 0 = none */
    public RouterException(OpenAiError error, Throwable cause, int retryAfterSeconds) {
        this(error, cause, retryAfterSeconds, null);
    }

    private RouterException(OpenAiError error, Throwable cause, int retryAfterSeconds, String detail) {
        super(detail == null ? error.message() : detail, cause, false, false);
        this.error = error;
        this.retryAfterSeconds = retryAfterSeconds;
        this.detail = detail;
    }

    /**
     * A worker failed or timed out: the client is told {@code kind}'s generic message, the log {@code detail}.
     *
     * @param kind   {@link ErrorKind#BAD_GATEWAY} or {@link ErrorKind#GATEWAY_TIMEOUT}
     * @param detail what went wrong, with the worker and the exception (never sent to the client)
     */
    public static RouterException upstream(ErrorKind kind, String detail, Throwable cause) {
        return new RouterException(OpenAiError.of(kind, genericMessage(kind)), cause, 0, detail);
    }

    /**
     * A stage of prefill/decode failed: the client is told which ({@code "Prefill failed: ..."}), the log the detail.
     *
     * @param stage {@code "Prefill"} or {@code "Decode"}
     */
    public static RouterException upstream(ErrorKind kind, String stage, String detail, Throwable cause) {
        return new RouterException(OpenAiError.of(kind, stage + " failed: " + genericMessage(kind)), cause, 0,
                detail);
    }

    /** What a client is told about a worker failure of {@code kind}. */
    public static String genericMessage(ErrorKind kind) {
        return kind == ErrorKind.GATEWAY_TIMEOUT ? "The worker did not answer in time"
                : "The worker failed to answer the request";
    }

    /** What the log gets beyond the client's message; {@code null} when the message says it all. */
    public String detail() {
        return detail;
    }

    /** The {@code Retry-After} the answer carries, in seconds; 0 = none. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public OpenAiError error() {
        return error;
    }
}
