package dev.vllmrouter.proxy;

import java.io.IOException;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The text of a chat answer as it passes to the client: {@code choices[0].message.content} of a plain body, or the
 * {@code choices[0].delta.content} of a stream's events joined, for the router's tokenizer to encode ahead of the
 * conversation's next turn ({@link PromptIdSource#answered}). Gives up (no text) on an answer with several choices, a
 * body over {@value #MAX_BODY} bytes or text over {@value #MAX_CHARS} characters; reads, never changes, the bytes.
 * <p>Not thread-safe: one instance per answer.
 */
public final class AnswerText {
    static final int MAX_BODY = 4 << 20;
    static final int MAX_CHARS = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] CONTENT = "\"content\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final StringBuilder text = new StringBuilder();
    private boolean refused;

    /** The hook for a plain body. */
    public UnaryOperator<byte[]> bodyHook() {
        return body -> {
            if (body.length > MAX_BODY) {
                refused = true;
            } else {
                take(body, "message");
            }
            return body;
        };
    }

    /** The hook for a stream's events (each with its {@code data: } line). */
    public UnaryOperator<byte[]> eventHook() {
        return event -> {
            if (!refused) {
                take(event, "delta");
            }
            return event;
        };
    }

    private void take(byte[] b, String field) {
        if (!contains(b, CONTENT)) {
            return; // the usage chunk, [DONE], a comment: nothing to parse
        }
        int from = 0;
        while (from < b.length && b[from] != '{') {
            from++;
        }
        int to = b.length;
        while (to > from && b[to - 1] != '}') {
            to--;
        }
        if (to <= from) {
            return; // [DONE], a comment, keep-alive
        }
        try {
            JsonNode choices = JSON.readTree(b, from, to - from).path("choices");
            if (choices.size() > 1 || choices.size() == 1 && choices.get(0).path("index").asInt(0) != 0) {
                refused = true; // n > 1: which choice comes back as history is the client's choice
                return;
            }
            JsonNode content = choices.path(0).path(field).path("content");
            if (content.isTextual()) {
                text.append(content.textValue());
                if (text.length() > MAX_CHARS) {
                    refused = true;
                }
            }
        } catch (IOException | RuntimeException e) {
            refused = true;
        }
    }

    private static boolean contains(byte[] b, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= b.length; i++) {
            for (int k = 0; k < needle.length; k++) {
                if (b[i + k] != needle[k]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** The answer's text, or {@code null} when there is none or it was given up. */
    public String text() {
        return refused || text.isEmpty() ? null : text.toString();
    }
}
