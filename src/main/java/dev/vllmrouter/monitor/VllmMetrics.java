package dev.vllmrouter.monitor;

import java.util.HashMap;
import java.util.Map;

/**
 * Reads a vLLM server's queue from its Prometheus text: {@code vllm:num_requests_running} +
 * {@code vllm:num_requests_waiting} per {@code engine} label (one engine per data-parallel rank; summed over
 * {@code model_name}). Label order, spacing, {@code # HELP}/{@code # TYPE} lines and other series are ignored; a
 * malformed line is skipped, never fatal. The names are the same from vLLM v0.6 to 2026 builds (V0 and V1 engines).
 */
final class VllmMetrics {
    static final String RUNNING = "vllm:num_requests_running";
    static final String WAITING = "vllm:num_requests_waiting";

    private VllmMetrics() {
    }

    /**
     * @return requests running or waiting per engine label ({@code ""} when a series has no engine label); empty when
     *     the text has neither series (vLLM started with {@code --disable-log-stats}, or not vLLM)
     */
    static Map<String, Integer> queueByEngine(String text) {
        Map<String, Double> sums = new HashMap<>();
        int pos = 0;
        int len = text.length();
        while (pos < len) {
            int eol = text.indexOf('\n', pos);
            if (eol < 0) {
                eol = len;
            }
            if (text.startsWith(RUNNING, pos) || text.startsWith(WAITING, pos)) {
                parseLine(text.substring(pos, eol), sums);
            }
            pos = eol + 1;
        }
        Map<String, Integer> out = new HashMap<>();
        sums.forEach((engine, v) -> out.put(engine, (int) Math.round(v)));
        return out;
    }

    private static void parseLine(String line, Map<String, Double> sums) {
        String name;
        String engine = "";
        int brace = line.indexOf('{');
        int valueStart;
        if (brace >= 0) {
            name = line.substring(0, brace);
            int close = line.indexOf('}', brace);
            if (close < 0) {
                return;
            }
            engine = label(line.substring(brace + 1, close), "engine");
            valueStart = close + 1;
        } else {
            int sp = line.indexOf(' ');
            if (sp < 0) {
                return;
            }
            name = line.substring(0, sp);
            valueStart = sp;
        }
        if (!name.equals(RUNNING) && !name.equals(WAITING)) {
            return; // e.g. vllm:num_requests_waiting_by_reason
        }
        String rest = line.substring(valueStart).trim();
        int sp = rest.indexOf(' ');
        String value = sp < 0 ? rest : rest.substring(0, sp);
        try {
            double v = Double.parseDouble(value);
            if (Double.isFinite(v) && v >= 0) {
                sums.merge(engine, v, Double::sum);
            }
        } catch (NumberFormatException ignored) {
            // skip a malformed sample
        }
    }

    private static String label(String labels, String key) {
        int i = 0;
        while (i < labels.length()) {
            int eq = labels.indexOf('=', i);
            if (eq < 0) {
                return "";
            }
            String k = labels.substring(i, eq).trim();
            int q1 = labels.indexOf('"', eq);
            if (q1 < 0) {
                return "";
            }
            int q2 = q1 + 1;
            while (q2 < labels.length() && (labels.charAt(q2) != '"' || labels.charAt(q2 - 1) == '\\')) {
                q2++;
            }
            if (k.equals(key)) {
                return labels.substring(q1 + 1, Math.min(q2, labels.length()));
            }
            int comma = labels.indexOf(',', q2);
            if (comma < 0) {
                return "";
            }
            i = comma + 1;
        }
        return "";
    }
}
