package dev.vllmrouter.server;

import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --request-log}: one line per finished request on logger {@code dev.vllmrouter.requests} — request id,
 * method, route, status, model, the workers its attempts went to, time to first token (streams), duration and the
 * error type. Never a body, a query string or a header value. With {@code --log-format json} the fields are JSON
 * fields; otherwise {@code key=value} pairs.
 */
final class RequestLogger {
    private static final System.Logger LOG = System.getLogger("dev.vllmrouter.requests");

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
        f.put("request_id", requestId);
        f.put("method", method);
        f.put("route", route);
        f.put("status", status);
        if (sink.model() != null) {
            f.put("model", sink.model());
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
        f.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
        LOG.log(Level.INFO, line.toString());
    }

    private static double millis(long nanos) {
        return Double.parseDouble(String.format(Locale.ROOT, "%.3f", nanos / 1e6));
    }
}
