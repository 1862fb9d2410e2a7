package dev.vllmrouter.server;

import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --request-log}: one line per finished request on logger {@code dev.vllmrouter.requests} — request id,
 * method, route, status, model, the workers its attempts went to, time to first token (streams), duration and the
 * error type. Never a body, a query string or a header value. With {@code --log-format json} the fields are JSON
 * fields; otherwise {@code key=value} pairs, a value quoted and escaped when it is not a plain token. Values the
 * client chose (model, request id, method) are cut to {@value #MAX_FIELD} characters.
 */
final class RequestLogger {
    private static final System.Logger LOG = System.getLogger("dev.vllmrouter.requests");
    /** Longest client-controlled value logged. */
    static final int MAX_FIELD = 256;

    private final boolean enabled;
    private final boolean json;

    RequestLogger(boolean enabled, boolean json) {
        this.enabled = enabled;
        this.json = json;
    }

    void log(String method, String route, String requestId, HelidonSink sink, int status, String errorType,
             long startNanos, long endNanos) {
        if (!enabled || !LOG.isLoggable(Level.INFO)) {
            return;
        }
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("request_id", capped(requestId));
        f.put("method", capped(method));
        f.put("route", route);
        f.put("status", status);
        if (sink.model() != null) {
            f.put("model", capped(sink.model()));
        }
        if (sink.workers() != null) {
            f.put("worker", sink.workers());
            f.put("attempts", sink.attempts());
        }
        if (sink.firstTokenAt() != 0) {
            f.put("ttft_ms", millis(sink.firstTokenAt() - startNanos));
        }
        f.put("duration_ms", millis(endNanos - startNanos));
        if (errorType != null) {
            f.put("error_type", errorType);
        }
        if (json) {
            LOG.log(Level.INFO, "request", f);
            return;
        }
        StringBuilder line = new StringBuilder(160).append("request");
        f.forEach((k, v) -> line.append(' ').append(k).append('=').append(v instanceof String t ? text(t) : v));
        LOG.log(Level.INFO, line.toString());
    }

    /** A client-controlled value cut to {@value #MAX_FIELD} characters, so one request cannot make a huge line. */
    static String capped(String value) {
        return value.length() <= MAX_FIELD ? value
                : value.substring(0, MAX_FIELD) + "...(" + (value.length() - MAX_FIELD) + " more)";
    }

    /**
     * A value as one token of a {@code key=value} line: printable ASCII without spaces, quotes or backslashes goes as
     * it is; anything else is quoted, with control characters, quotes, backslashes and non-ASCII escaped, so a value
     * can neither end the line (a forged log line) nor carry terminal escape codes.
     */
    static String text(String value) {
        boolean plain = !value.isEmpty();
        for (int i = 0; i < value.length() && plain; i++) {
            char c = value.charAt(i);
            plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
        }
        if (plain) {
            return value;
        }
        StringBuilder out = new StringBuilder(value.length() + 8).append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c >= 0x7f) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    private static double millis(long nanos) {
        return Double.parseDouble(String.format(Locale.ROOT, "%.3f", nanos / 1e6));
    }
}
