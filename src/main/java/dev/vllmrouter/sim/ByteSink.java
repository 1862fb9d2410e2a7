package dev.vllmrouter.sim;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable byte buffer that renders JSON text directly as UTF-8 bytes.
 *
 * <p>Why: the simulator answers tens of thousands of requests per second in the benchmarks, and every SSE event
 * is a small JSON object. Building each event into one reused buffer and writing it with a single
 * {@code write(buf, 0, len)} avoids a String plus a byte[] per event. Responses are assembled from
 * pre-encoded fragments ({@code byte[]} constants) plus the few variable parts (ids, numbers, token text).
 *
 * <p>Not thread-safe: one instance belongs to one request.
 */
final class ByteSink {
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private byte[] buf;
    private int len;

    ByteSink(int initialCapacity) {
        buf = new byte[Math.max(16, initialCapacity)];
    }

    ByteSink clear() {
        len = 0;
        return this;
    }

    int length() {
        return len;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }

    void writeTo(OutputStream out) throws IOException {
        out.write(buf, 0, len);
    }

    ByteSink append(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
        return this;
    }

    /** Appends text known to be ASCII without JSON escaping (fixed JSON fragments, numbers). */
    ByteSink ascii(String s) {
        int n = s.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            buf[len++] = (byte) s.charAt(i);
        }
        return this;
    }

    ByteSink append(long value) {
        if (value == Long.MIN_VALUE) {
            return ascii(Long.toString(value));
        }
        if (value < 0) {
            ensure(1);
            buf[len++] = '-';
            value = -value;
        }
        int digits = 1;
        for (long v = value; v >= 10; v /= 10) {
            digits++;
        }
        ensure(digits);
        for (int i = len + digits - 1; i >= len; i--) {
            buf[i] = (byte) ('0' + (value % 10));
            value /= 10;
        }
        len += digits;
        return this;
    }

    /** Appends {@code s} as a quoted JSON string (RFC 8259 escaping), or {@code null} when s is null. */
    ByteSink jsonString(String s) {
        if (s == null) {
            return ascii("null");
        }
        ensure(s.length() + 2);
        buf[len++] = '"';
        jsonStringBody(s);
        ensure(1);
        buf[len++] = '"';
        return this;
    }

    /** Appends the escaped content of a JSON string, without the surrounding quotes. */
    ByteSink jsonStringBody(String s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                if (c >= 0x20 && c != '"' && c != '\\') {
                    ensure(1);
                    buf[len++] = (byte) c;
                } else {
                    escape(c);
                }
            } else if (Character.isSurrogate(c)) {
                int cp = s.codePointAt(i);
                if (Character.isSupplementaryCodePoint(cp)) {
                    i++;
                    utf8(cp);
                } else {
                    escape(c); // lone surrogate: keep it representable
                }
            } else {
                utf8(c);
            }
        }
        return this;
    }

    private void escape(char c) {
        ensure(6);
        buf[len++] = '\\';
        switch (c) {
            case '"' -> buf[len++] = '"';
            case '\\' -> buf[len++] = '\\';
            case '\n' -> buf[len++] = 'n';
            case '\r' -> buf[len++] = 'r';
            case '\t' -> buf[len++] = 't';
            case '\b' -> buf[len++] = 'b';
            case '\f' -> buf[len++] = 'f';
            default -> {
                buf[len++] = 'u';
                buf[len++] = HEX[(c >> 12) & 0xF];
                buf[len++] = HEX[(c >> 8) & 0xF];
                buf[len++] = HEX[(c >> 4) & 0xF];
                buf[len++] = HEX[c & 0xF];
            }
        }
    }

    private void utf8(int cp) {
        ensure(4);
        if (cp < 0x800) {
            buf[len++] = (byte) (0xC0 | (cp >> 6));
            buf[len++] = (byte) (0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            buf[len++] = (byte) (0xE0 | (cp >> 12));
            buf[len++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            buf[len++] = (byte) (0x80 | (cp & 0x3F));
        } else {
            buf[len++] = (byte) (0xF0 | (cp >> 18));
            buf[len++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
            buf[len++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            buf[len++] = (byte) (0x80 | (cp & 0x3F));
        }
    }

    private void ensure(int extra) {
        if (len + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
        }
    }

    /** UTF-8 bytes of a constant fragment. */
    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
