package dev.vllmrouter.sim;

/**
 * An error answer in vLLM's envelope (since v0.10.1):
 * {@code {"error":{"message":...,"type":...,"param":null,"code":<status>}}}.
 *
 * <p>Thrown by request parsing/validation and by injected faults before any response byte is written; the
 * route pipeline catches it and sends {@link #body()} with {@link #status()}. The body is compact JSON, as
 * vLLM's {@code JSONResponse} renders it. No stack trace is captured: these are expected answers, not bugs.
 *
 * <p>Type names: 400 {@code BadRequestError}, 404 {@code NotFoundError}, 501 {@code NotImplementedError},
 * other 5xx {@code InternalServerError}, other 4xx the HTTP reason phrase (what vLLM's generic
 * HTTPException handler reports).
 */
final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String type;

    ApiError(int status, String type, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
    }

    static ApiError of(int status, String message) {
        return new ApiError(status, typeFor(status), message);
    }

    static ApiError badRequest(String message) {
        return new ApiError(400, "BadRequestError", message);
    }

    static ApiError missingField(String field) {
        return badRequest("[{'type': 'missing', 'loc': ('body', '" + field + "'), 'msg': 'Field required'}]");
    }

    static ApiError unknownModel(String model) {
        return new ApiError(404, "NotFoundError", "The model `" + model + "` does not exist.");
    }

    static ApiError injected(int status) {
        return of(status, "Simulated failure: sim-worker fault injection returned HTTP " + status);
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }

    byte[] body() {
        return new ByteSink(128 + getMessage().length())
                .ascii("{\"error\":{\"message\":").jsonString(getMessage())
                .ascii(",\"type\":").jsonString(type)
                .ascii(",\"param\":null,\"code\":").append(status)
                .ascii("}}").toByteArray();
    }

    static String typeFor(int status) {
        return switch (status) {
            case 400 -> "BadRequestError";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "NotFoundError";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 409 -> "Conflict";
            case 413 -> "Request Entity Too Large";
            case 422 -> "Unprocessable Entity";
            case 429 -> "Too Many Requests";
            case 501 -> "NotImplementedError";
            default -> status >= 500 ? "InternalServerError" : "BadRequestError";
        };
    }
}
