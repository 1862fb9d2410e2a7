package dev.vllmrouter.openai;

/**
 * The errors the router itself can answer with, each with its HTTP status and the OpenAI/vLLM error {@code type}.
 * Types follow vLLM's envelope (class-name style, {@code code} = the HTTP status) so that a client sees the same
 * shape whether the router or a worker refused the request.
 */
public enum ErrorKind {
    BAD_REQUEST(400, "BadRequestError"),
    UNAUTHORIZED(401, "AuthenticationError"),
    FORBIDDEN(403, "PermissionDeniedError"),
    NOT_FOUND(404, "NotFoundError"),
    METHOD_NOT_ALLOWED(405, "MethodNotAllowedError"),
    REQUEST_TIMEOUT(408, "RequestTimeoutError"),
    PAYLOAD_TOO_LARGE(413, "PayloadTooLargeError"),
    UNSUPPORTED_MEDIA_TYPE(415, "UnsupportedMediaTypeError"),
    TOO_MANY_REQUESTS(429, "RateLimitError"),
    INTERNAL(500, "InternalServerError"),
    NOT_IMPLEMENTED(501, "NotImplementedError"),
    BAD_GATEWAY(502, "BadGatewayError"),
    SERVICE_UNAVAILABLE(503, "ServiceUnavailableError"),
    GATEWAY_TIMEOUT(504, "GatewayTimeoutError"),
    HTTP_VERSION_NOT_SUPPORTED(505, "HttpVersionNotSupportedError");

    private final int status;
    private final String type;

    ErrorKind(int status, String type) {
        this.status = status;
        this.type = type;
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }
}
