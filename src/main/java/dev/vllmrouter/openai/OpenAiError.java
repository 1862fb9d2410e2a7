package dev.vllmrouter.openai;

import java.nio.charset.StandardCharsets;

/**
 * An error answered by the router: {@code {"error": {"message", "type", "param", "code"}}} with the HTTP status of its
 * {@link ErrorKind}. Rendered by hand (no object mapper on the error path); the message is JSON-escaped.
 */
public record OpenAiError(ErrorKind kind, String message, String param) {

    public OpenAiError {
        if (kind == null || message == null) {
            throw new IllegalArgumentException("kind and message are required");
        }
    }

    public static OpenAiError of(ErrorKind kind, String message) {
        return new OpenAiError(kind, message, null);
    }

    public int status() {
        return kind.status();
    }

    /** The JSON body, e.g. {@code {"error":{"message":"...","type":"BadRequestError","param":null,"code":400}}}. */
    public String toJson() {
        StringBuilder sb = new StringBuilder(96 + message.length());
        sb.append("{\"error\":{\"message\":");
        Json.appendString(sb, message);
        sb.append(",\"type\":\"").append(kind.type()).append("\",\"param\":");
        if (param == null) {
            sb.append("null");
        } else {
            Json.appendString(sb, param);
        }
        sb.append(",\"code\":").append(kind.status()).append("}}");
        return sb.toString();
    }

    public byte[] toJsonBytes() {
        return toJson().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The same error as one SSE event, for a stream that already started: vLLM's own mid-stream error shape
     * ({@code data: {"error": {...}}}) followed by {@code data: [DONE]} so that clients end cleanly.
     */
    public byte[] toSseBytes() {
        return ("data: " + toJson() + "\n\ndata: [DONE]\n\n").getBytes(StandardCharsets.UTF_8);
    }
}
