package dev.vllmrouter.openai;

/** Minimal JSON text helpers for the few bodies the router renders itself. */
public final class Json {
    private Json() {
    }

    /** Appends {@code value} as a JSON string literal (quotes included), escaping as RFC 8259 requires. */
    public static void appendString(StringBuilder sb, String value) {
        sb.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    public static String quote(String value) {
        StringBuilder sb = new StringBuilder(value.length() + 2);
        appendString(sb, value);
        return sb.toString();
    }
}
