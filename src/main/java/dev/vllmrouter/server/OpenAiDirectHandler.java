package dev.vllmrouter.server;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;

import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;

/**
 * Answers the requests Helidon refuses before any route runs — a malformed request line or header, headers over the
 * size limit, conflicting {@code Content-Length} and {@code Transfer-Encoding}, two different {@code Content-Length}s —
 * with the same OpenAI error JSON as every other error of the router, instead of Helidon's plain text. The status and
 * whether the connection stays open are Helidon's.
 */
final class OpenAiDirectHandler implements DirectHandler {
    @Override
    public TransportResponse handle(TransportRequest request, EventType eventType, Status status,
                                    ServerResponseHeaders headers, String message) {
        ErrorKind kind = kindOf(status.code());
        String text = message == null || message.isBlank() ? status.reasonPhrase() : message;
        byte[] body = OpenAiError.of(kind, "Bad HTTP request: " + text).toJsonBytes();
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
