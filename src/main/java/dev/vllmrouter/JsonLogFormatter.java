package dev.vllmrouter;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Map;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * {@code --log-format json}: one JSON object per line — {@code ts}, {@code level}, {@code logger}, {@code message},
 * {@code exception} when there is one — for log pipelines that parse JSON. A record whose first parameter is a
 * {@link Map} (the request log) has its entries added as fields; the message is then not formatted with it.
 */
final class JsonLogFormatter extends Formatter {
    @Override
    public String format(LogRecord r) {
        StringBuilder out = new StringBuilder(256);
        out.append("{\"ts\":\"").append(Instant.ofEpochMilli(r.getMillis())).append("\",\"level\":");
        quote(out, r.getLevel().getName());
        out.append(",\"logger\":");
        quote(out, r.getLoggerName());
        Object[] params = r.getParameters();
        boolean fields = params != null && params.length == 1 && params[0] instanceof Map;
        out.append(",\"message\":");
        quote(out, fields ? r.getMessage() : formatMessage(r));
        if (fields) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) params[0]).entrySet()) {
                out.append(',');
                quote(out, String.valueOf(e.getKey()));
                out.append(':');
                Object v = e.getValue();
                if (v instanceof Number || v instanceof Boolean) {
                    out.append(v);
                } else {
                    quote(out, v == null ? null : v.toString());
                }
            }
        }
        if (r.getThrown() != null) {
            StringWriter trace = new StringWriter();
            r.getThrown().printStackTrace(new PrintWriter(trace));
            out.append(",\"exception\":");
            quote(out, trace.toString());
        }
        return out.append("}\n").toString();
    }

    static void quote(StringBuilder out, String s) {
        if (s == null) {
            out.append("null");
            return;
        }
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
