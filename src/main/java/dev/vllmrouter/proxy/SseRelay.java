package dev.vllmrouter.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.function.LongConsumer;
import java.util.function.UnaryOperator;

/**
 * Copies a Server-Sent-Events body from a worker to a client, unchanged, one whole event at a time: bytes are written
 * as soon as they complete an event (a blank line ends it) and flushed at once, so tokens reach the client as they are
 * generated; a partial event is held back until its end arrives. Events that arrived together (already buffered, see
 * {@link InputStream#available()}) are written and flushed together, as a proxy reading its socket would: one
 * write instead of one per event when the router or the client lags, and never a wait for an event not yet here. Therefore the client never holds half an event if
 * the worker dies mid-stream, and the router can append a well-formed error event.
 * <p>Outcome: {@link Outcome#COMPLETED} at the worker's clean end, {@link Outcome#WORKER_FAILED} when reading failed
 * (the partial event is dropped), {@link Outcome#CLIENT_GONE} when writing to the client failed. Not thread-safe:
 * one instance per stream.
 */
public final class SseRelay {
    public enum Outcome { COMPLETED, WORKER_FAILED, CLIENT_GONE }

    private static final int INITIAL_BUFFER = 16 * 1024;
    /** A single event larger than this is passed on without waiting for its end (no unbounded buffering). */
    private static final int MAX_HELD = 4 * 1024 * 1024;

    private final UnaryOperator<byte[]> eventRewrite;
    private byte[] buf = new byte[INITIAL_BUFFER];
    private int len;          // bytes in buf
    private int scanned;      // bytes of buf already searched for an event end
    private long events;      // complete events passed on
    private Throwable failure;

    /** A relay that passes every byte on unchanged. */
    public SseRelay() {
        this(null);
    }

    /**
     * A relay that passes each complete event through {@code eventRewrite} (given the event with its terminating
     * blank line; it returns the same array for an event it leaves alone), or none when {@code null}. Events it
     * leaves alone, and every byte of an unterminated or oversized event, still go out unchanged.
     */
    public SseRelay(UnaryOperator<byte[]> eventRewrite) {
        this.eventRewrite = eventRewrite;
    }

    /** Relays until the worker's stream ends or either side fails. */
    public Outcome relay(InputStream in, OutputStream out) {
        return relay(in, out, null);
    }

    /**
     * As {@link #relay(InputStream, OutputStream)}, giving {@code onDelivery} (may be {@code null}) the number of
     * complete events each time some were flushed to the client — the moments that time to first token and
     * inter-token latency measure.
     */
    public Outcome relay(InputStream in, OutputStream out, LongConsumer onDelivery) {
        while (true) {
            int n;
            try {
                if (len == buf.length) {
                    buf = Arrays.copyOf(buf, buf.length * 2);
                }
                n = in.read(buf, len, buf.length - len);
                // events that arrived together leave together: take what is already here, never wait for more
                int more;
                while (n > 0 && len + n < buf.length && (more = in.available()) > 0) {
                    int m = in.read(buf, len + n, Math.min(more, buf.length - len - n));
                    if (m <= 0) {
                        break;
                    }
                    n += m;
                }
            } catch (IOException | RuntimeException e) {
                failure = e;
                return Outcome.WORKER_FAILED;
            }
            try {
                if (n < 0) {
                    if (len > 0) {
                        // the worker ended cleanly after an unterminated event: pass it on as sent
                        out.write(buf, 0, len);
                        out.flush();
                        len = 0;
                    }
                    return Outcome.COMPLETED;
                }
                len += n;
                long before = events;
                int end = lastEventEnd();
                if (end > 0) {
                    if (eventRewrite == null) {
                        out.write(buf, 0, end);
                    } else {
                        writeRewritten(out, end);
                    }
                    out.flush();
                    System.arraycopy(buf, end, buf, 0, len - end);
                    len -= end;
                    scanned = 0;
                    if (onDelivery != null) {
                        onDelivery.accept(events - before);
                    }
                } else if (len >= MAX_HELD) {
                    out.write(buf, 0, len);
                    out.flush();
                    len = 0;
                    scanned = 0;
                }
            } catch (IOException | RuntimeException e) {
                // Helidon reports a closed client socket as UncheckedIOException or its own runtime exceptions
                failure = e;
                return Outcome.CLIENT_GONE;
            }
        }
    }

    /** Writes the complete events in {@code buf[0, end)}, each through the rewrite; unchanged runs in one write. */
    private void writeRewritten(OutputStream out, int end) throws IOException {
        int run = 0; // start of the bytes not written yet, all unchanged so far
        int start = 0;
        while (start < end) {
            int next = nextEventEnd(start, end);
            byte[] event = Arrays.copyOfRange(buf, start, next);
            byte[] rewritten = eventRewrite.apply(event);
            if (rewritten != event) {
                out.write(buf, run, start - run);
                out.write(rewritten);
                run = next;
            }
            start = next;
        }
        out.write(buf, run, end - run);
    }

    /** Index just past the first event terminator at or after {@code from} (before {@code end}), or {@code end}. */
    private int nextEventEnd(int from, int end) {
        for (int i = from + 1; i < end; i++) {
            byte b = buf[i];
            if ((b == '\n' && buf[i - 1] == '\n') || (b == '\r' && buf[i - 1] == '\r')
                    || (b == '\n' && i >= from + 3 && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')) {
                return i + 1;
            }
        }
        return end;
    }

    /** Complete events passed to the client. */
    public long events() {
        return events;
    }

    /** What ended the relay when it did not complete. */
    public Throwable failure() {
        return failure;
    }

    /** Bytes held back (an incomplete event) when the relay stopped. */
    public int held() {
        return len;
    }

    /**
     * Index just past the last event terminator ({@code \n\n}, {@code \r\n\r\n} or {@code \r\r}) in
     * {@code buf[0, len)}, or 0 when there is none; counts the events found.
     */
    private int lastEventEnd() {
        int last = 0;
        // resume one byte back: a terminator may straddle two reads
        int i = Math.max(1, scanned);
        for (; i < len; i++) {
            byte b = buf[i];
            if (b == '\n' && buf[i - 1] == '\n') {
                last = i + 1;
                events++;
            } else if (b == '\r' && buf[i - 1] == '\r') {
                last = i + 1;
                events++;
            } else if (b == '\n' && i >= 3 && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                last = i + 1;
                events++;
            }
        }
        scanned = len;
        return last;
    }
}
