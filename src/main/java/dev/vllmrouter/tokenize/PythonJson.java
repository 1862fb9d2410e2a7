package dev.vllmrouter.tokenize;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=None, sort_keys=sort_keys)}: the
 * {@code tojson} filter that Hugging Face's chat-template environment defines (it replaces Jinja's own, which
 * escapes HTML). Chat templates print tool schemas and tool-call arguments with it, so every byte counts:
 * <ul>
 *   <li>separators {@code ", "} and {@code ": "} without indent, {@code ","} and {@code ": "} with one (newline and
 *       the indent before each item);</li>
 *   <li>strings: {@code \" \\ \n \r \t \b \f} escaped, other control characters as {@code \\}{@code u00XX}, everything
 *       else (non-ASCII included) as it is;</li>
 *   <li>floats as Python's {@code repr}: shortest round-trip digits, {@code 1.0} keeps its {@code .0}, exponent
 *       form ({@code 1e-05}, {@code 1e+16}) outside {@code 1e-4 <= |x| < 1e16}.</li>
 * </ul>
 * Pure and stateless.
 */
final class PythonJson {
    private PythonJson() {
    }

    static String dumps(Object value, Integer indent, boolean sortKeys) {
        StringBuilder out = new StringBuilder();
        write(out, value, indent, sortKeys, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object v, Integer indent, boolean sortKeys, int depth) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof String s) {
            string(out, s);
        } else if (v instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (v instanceof Double || v instanceof Float || v instanceof BigDecimal) {
            out.append(floatRepr(((Number) v).doubleValue()));
        } else if (v instanceof Number n) {
            out.append(n instanceof BigInteger big ? big.toString() : Long.toString(n.longValue()));
        } else if (v instanceof Map<?, ?> map) {
            List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
            if (sortKeys) {
                entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
            }
            if (entries.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : entries) {
                separator(out, first, indent, depth + 1);
                first = false;
                string(out, String.valueOf(e.getKey()));
                out.append(": ");
                write(out, e.getValue(), indent, sortKeys, depth + 1);
            }
            close(out, indent, depth, '}');
        } else if (v instanceof Collection<?> || v instanceof Object[]) {
            Collection<?> items = v instanceof Collection<?> c ? c : List.of((Object[]) v);
            if (items.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            boolean first = true;
            for (Object item : items) {
                separator(out, first, indent, depth + 1);
                first = false;
                write(out, item, indent, sortKeys, depth + 1);
            }
            close(out, indent, depth, ']');
        } else {
            // json.dumps raises TypeError on anything else; a template never gets other types from a request
            string(out, String.valueOf(v));
        }
    }

    private static void separator(StringBuilder out, boolean first, Integer indent, int depth) {
        if (indent == null) {
            if (!first) {
                out.append(", ");
            }
            return;
        }
        if (!first) {
            out.append(',');
        }
        out.append('\n').append(" ".repeat(indent * depth));
    }

    private static void close(StringBuilder out, Integer indent, int depth, char bracket) {
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
        out.append(bracket);
    }

    static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
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

    /** Python's {@code repr(float)}. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        // Double.toString gives the shortest digits that round-trip (JDK 19+), as Python's repr does
        BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = exact.unscaledValue().toString();
        int exponent = digits.length() - 1 - exact.scale(); // d = 0.digits * 10^(exponent+1)
        StringBuilder out = new StringBuilder(d < 0 ? "-" : "");
        if (exponent < -4 || exponent >= 16) {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            out.append('e').append(exponent < 0 ? '-' : '+');
            int abs = Math.abs(exponent);
            out.append(abs < 10 ? "0" : "").append(abs);
        } else if (exponent < 0) {
            out.append("0.").append("0".repeat(-exponent - 1)).append(digits);
        } else if (digits.length() <= exponent + 1) {
            out.append(digits).append("0".repeat(exponent + 1 - digits.length())).append(".0");
        } else {
            out.append(digits, 0, exponent + 1).append('.').append(digits, exponent + 1, digits.length());
        }
        return out.toString();
    }
}
