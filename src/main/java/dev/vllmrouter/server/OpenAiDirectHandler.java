package dev.vllmrouter.server;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;

import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;

/**
 * Answers the requests refused before any route runs — a malformed request line or header, headers over the size
 * limit, ambiguous body framing ({@link RequestFraming}), an HTTP version other than 1.1 — with the same OpenAI error
 * JSON as every other error of the router, instead of Helidon's plain text. The status and whether the connection
 * stays open are Helidon's; an HTTP/1.0 request gets 505 with a body saying to use HTTP/1.1.
 */
final class OpenAiDirectHandler implements DirectHandler {
    private static final String HELIDON_UNSAFE_MESSAGE = "Bad request, see server log for more information";

    @Override
    public TransportResponse handle(TransportRequest request, EventType eventType, Status status,
                                    ServerResponseHeaders headers, String message) {
        String text;
        if (eventType == EventType.HTTP_VERSION_NOT_SUPPORTED) {
            status = Status.HTTP_VERSION_NOT_SUPPORTED_505;
            text = "HTTP version not supported: " + (request.protocolVersion().isBlank() ? "this version"
                    : request.protocolVersion()) + "; send the request with HTTP/1.1";
        } else {
            // Helidon's text for messages it keeps to its log says nothing to a client: the status says as much
            boolean none = message == null || message.isBlank() || message.equals(HELIDON_UNSAFE_MESSAGE);
            text = "Bad HTTP request: " + (none ? status.reasonPhrase() : message);
        }
        byte[] body = OpenAiError.of(kindOf(status.code()), text).toJsonBytes();
        headers.set(HeaderNames.CONTENT_TYPE, "application/json");
        return TransportResponse.builder()
                .status(status)
                .headers(headers)
                .keepAlive(eventType.keepAlive())
                .entity(body)
                .build();
    }

    private static ErrorKind kindOf(int status) {
        for (ErrorKind k : ErrorKind.values()) {
            if (k.status() == status) {
                return k;
            }
        }
        return status >= 500 ? ErrorKind.INTERNAL : ErrorKind.BAD_REQUEST;
    }
}
