package dev.vllmrouter.proxy;

import java.util.function.UnaryOperator;

/**
 * Reads {@code usage.prompt_tokens_details.cached_tokens} out of a worker's answer as it passes, without parsing it as
 * JSON: a plain body is searched once, from its end (where vLLM puts {@code usage}); in a stream each event is
 * searched for {@code "prompt_tokens"} (only usage objects carry it: the final usage chunk of
 * {@code stream_options.include_usage}, or every chunk with {@code continuous_usage_stats}) and the last one seen
 * counts. Byte scans of the answer's own bytes, so a string inside generated text cannot match: JSON escapes the
 * quotes of text content.
 * <p>Not thread-safe: one instance per answer.
 */
public final class UsageTap {
    /** No usage was seen in the answer. */
    public static final int NO_USAGE = -2;
    /** A usage object was seen, without {@code cached_tokens}. */
    public static final int NO_DETAILS = -1;

    private static final byte[] CACHED = "\"cached_tokens\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] PROMPT = "\"prompt_tokens\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private int reported = NO_USAGE;

    /** The hook for a plain body ({@link AnswerRelay}'s body rewrite): reads, returns the body unchanged. */
    public UnaryOperator<byte[]> bodyHook() {
        return body -> {
            reported = cachedTokens(body, 0, body.length);
            return body;
        };
    }

    /** The hook for a stream's events ({@link AnswerRelay}'s event rewrite): reads, returns each event unchanged. */
    public UnaryOperator<byte[]> eventHook() {
        return event -> {
            int r = cachedTokens(event, 0, event.length);
            if (r != NO_USAGE) {
                reported = r;
            }
            return event;
        };
    }

    /** What the answer said: the tokens, {@link #NO_DETAILS} or {@link #NO_USAGE}. */
    public int reported() {
        return reported;
    }

    /** The {@code cached_tokens} in {@code b[from, to)}, {@link #NO_DETAILS} or {@link #NO_USAGE}. */
    static int cachedTokens(byte[] b, int from, int to) {
        int at = lastIndexOf(b, from, to, CACHED);
        if (at < 0) {
            return lastIndexOf(b, from, to, PROMPT) < 0 ? NO_USAGE : NO_DETAILS;
        }
        int i = at + CACHED.length;
        while (i < to && (b[i] == ' ' || b[i] == ':' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) {
            i++;
        }
        long v = 0;
        int digits = 0;
        while (i < to && b[i] >= '0' && b[i] <= '9' && digits < 10) {
            v = v * 10 + (b[i++] - '0');
            digits++;
        }
        return digits == 0 || v > Integer.MAX_VALUE ? NO_DETAILS : (int) v;
    }

    private static int lastIndexOf(byte[] b, int from, int to, byte[] needle) {
        outer:
        for (int i = to - needle.length; i >= from; i--) {
            if (b[i] != needle[0]) {
                continue;
            }
            for (int k = 1; k < needle.length; k++) {
                if (b[i + k] != needle[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
