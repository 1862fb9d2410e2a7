package dev.vllmrouter.tracing;

import java.util.HexFormat;
import java.util.function.LongSupplier;

/**
 * One position in a trace, as W3C Trace Context (https://www.w3.org/TR/trace-context/) carries it in the
 * {@code traceparent} header ({@code 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>}) and {@code tracestate}.
 * <p>Invariant: {@code traceId} is 32 and {@code spanId} 16 lowercase hex digits, neither all zeros. {@link #parse}
 * returns {@code null} for any header that breaks the grammar instead of throwing, because a client's bad header must
 * start a new trace, never fail its request. Versions above {@code 00} are read by the {@code 00} layout (the spec's
 * forward-compatibility rule); {@code ff} is invalid. Only the sampled bit of the flags is kept: it is the only one
 * version 00 defines, and the router always writes version 00.
 * <p>{@code traceState} is opaque: kept as received and forwarded unchanged (the router adds no entry of its own),
 * and dropped together with an invalid {@code traceparent}, as the spec requires.
 */
public record TraceContext(String traceId, String spanId, boolean sampled, String traceState) {
    public static final String TRACEPARENT = "traceparent";
    public static final String TRACESTATE = "tracestate";
    private static final HexFormat HEX = HexFormat.of();
    private static final int LENGTH_V00 = 55;

    public TraceContext {
        if (!isValidId(traceId, 0, 32) || !isValidId(spanId, 0, 16)
                || traceId.length() != 32 || spanId.length() != 16) {
            throw new IllegalArgumentException("invalid trace id " + traceId + " or span id " + spanId);
        }
    }

    /**
     * Reads an incoming context.
     *
     * @param traceparent the header value, or {@code null} when absent
     * @param tracestate  the header value, or {@code null} when absent
     * @return the context, or {@code null} when there is no valid {@code traceparent}
     */
    public static TraceContext parse(String traceparent, String tracestate) {
        if (traceparent == null) {
            return null;
        }
        String tp = traceparent.strip();
        if (tp.length() < LENGTH_V00 || !isLowerHex(tp, 0, 2) || tp.startsWith("ff")
                || tp.charAt(2) != '-' || tp.charAt(35) != '-' || tp.charAt(52) != '-'
                || !isValidId(tp, 3, 35) || !isValidId(tp, 36, 52) || !isLowerHex(tp, 53, 55)) {
            return null;
        }
        boolean v00 = tp.startsWith("00");
        if (tp.length() > LENGTH_V00 && (v00 || tp.charAt(LENGTH_V00) != '-')) {
            return null; // version 00 has nothing after the flags; later versions separate their extra fields with '-'
        }
        boolean sampled = (Character.digit(tp.charAt(54), 16) & 1) != 0;
        String state = tracestate == null || tracestate.isBlank() ? null : tracestate.strip();
        return new TraceContext(tp.substring(3, 35), tp.substring(36, 52), sampled, state);
    }

    /** This context as a version-00 {@code traceparent} value. */
    public String traceparent() {
        return "00-" + traceId + '-' + spanId + (sampled ? "-01" : "-00");
    }

    /** The same trace and flags with another span id: the context a child span propagates. */
    TraceContext withSpanId(String newSpanId) {
        return new TraceContext(traceId, newSpanId, sampled, traceState);
    }

    /** A random trace id; a generator that returns zeros is asked again, since an all-zero id is invalid. */
    static String newTraceId(LongSupplier random) {
        long hi;
        long lo;
        do {
            hi = random.getAsLong();
            lo = random.getAsLong();
        } while ((hi | lo) == 0);
        return HEX.toHexDigits(hi) + HEX.toHexDigits(lo);
    }

    /** A random, non-zero span id. */
    static String newSpanId(LongSupplier random) {
        long id;
        do {
            id = random.getAsLong();
        } while (id == 0);
        return HEX.toHexDigits(id);
    }

    private static boolean isValidId(String s, int from, int to) {
        if (s == null || s.length() < to || !isLowerHex(s, from, to)) {
            return false;
        }
        for (int i = from; i < to; i++) {
            if (s.charAt(i) != '0') {
                return true;
            }
        }
        return false;
    }

    private static boolean isLowerHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }
}
