package dev.vllmrouter.policy.prefix;

import java.nio.CharBuffer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Bulk char helpers: texts are copied into pooled buffers (a fresh 4 KiB array costs several times the copy itself,
 * mostly in allocation and GC) and edges compared with the vectorised {@link Arrays#mismatch}.
 * <p>The pool is a few slots, chosen by thread id and spread over separate cache lines; {@link #take} empties a slot
 * with {@code getAndSet}, so a buffer has one user at a time, and {@link #give} puts it back (or lets it go if larger
 * than {@value #MAX_POOLED_CHARS} chars). A thread finding its slot empty allocates. Lock-free.
 */
final class Chars {
    static final int MAX_POOLED_CHARS = 1 << 16;
    private static final int SLOTS = 16;
    private static final int SPACING = 16; // references between slots: one slot per 64-byte line
    private static final AtomicReferenceArray<char[]> POOL = new AtomicReferenceArray<>(SLOTS * SPACING);

    private Chars() {
    }

    /** A buffer whose first {@code n} chars are those of {@code text} ({@code n <= text.length()}); give it back. */
    static char[] take(CharSequence text, int n) {
        char[] out = POOL.getAndSet(slot(), null);
        if (out == null || out.length < n) {
            out = new char[Math.max(n, 1024)];
        }
        switch (text) {
            case String s -> s.getChars(0, n, out, 0);
            case StringBuilder sb -> sb.getChars(0, n, out, 0);
            case CharBuffer cb -> cb.get(cb.position(), out, 0, n);
            default -> {
                for (int i = 0; i < n; i++) {
                    out[i] = text.charAt(i);
                }
            }
        }
        return out;
    }

    /** Returns a buffer from {@link #take}; the caller must not use it afterwards. */
    static void give(char[] buffer) {
        if (buffer.length <= MAX_POOLED_CHARS) {
            POOL.setRelease(slot(), buffer);
        }
    }

    /** Length of the common prefix of {@code label} and {@code text[from, to)}. */
    static int commonPrefix(char[] label, char[] text, int from, int to) {
        int len = Math.min(label.length, to - from);
        int mismatch = Arrays.mismatch(label, 0, len, text, from, from + len);
        return mismatch < 0 ? len : mismatch;
    }

    private static int slot() {
        return (int) (Thread.currentThread().threadId() & (SLOTS - 1)) * SPACING;
    }
}
