package dev.vllmrouter.openai;

/**
 * Thrown on the request path when the router itself answers with an error; the server maps it to the OpenAI error
 * JSON and its status. Stack traces are not filled: these are expected outcomes, not bugs.
 */
public final class RouterException extends RuntimeException {
    private final OpenAiError error;
    private final int retryAfterSeconds;

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
        super(error.message(), cause, false, false);
        this.error = error;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** The {@code Retry-After} the answer carries, in seconds; 0 = none. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public OpenAiError error() {
        return error;
    }
}
