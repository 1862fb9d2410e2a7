package dev.vllmrouter.server;

import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.LazyString;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.webserver.ServerConnectionException;

/**
 * The reader of one client connection as Helidon's HTTP/1 parser sees it, so that bytes outside ASCII pass through
 * unchanged instead of turning into {@code ?}:
 * <ul>
 * <li>header values are decoded as ISO-8859-1 (one char per byte; Helidon decodes them as US-ASCII, which replaces
 *     every byte over 0x7F), so the upstream client, which writes ISO-8859-1, sends the very bytes that came;</li>
 * <li>a request line with bytes over 0x7F (raw UTF-8 in the target) is handed to Helidon with those bytes
 *     percent-encoded, so it validates and routes on the decoded path, and the line as it came is kept
 *     ({@link #originalTarget()}) for the request that goes to the worker.</li>
 * </ul>
 * It reads what Helidon's own reader of the connection already buffered (while it identified the protocol), then
 * the socket, exactly as Helidon's reader does. Used on the connection's own thread only, except {@link #readAhead},
 * whose read runs while the connection's thread answers a request and hands its result to the connection's next read.
 */
final class WireReader extends DataReader {
    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);

    /** Whether the parser is between a request line and the end of its header section. */
    private boolean inHead;
    private String lineTarget;
    private String originalTarget;

    private final Source source;

    /** @param onBytes told each time bytes come from the socket (or from what Helidon buffered) */
    WireReader(DataReader buffered, HelidonSocket socket, Runnable onBytes) {
        this(new Source(buffered, socket, onBytes));
    }

    private WireReader(Source source) {
        super(source::next);
        this.source = source;
    }

    /**
     * Starts reading the socket ahead of the connection, on a virtual thread of its own, while the current request is
     * being answered (nothing else reads the socket then), and returns what that read will give: the next bytes the
     * client sends, {@link #END} when it closed the connection, or the exception of a broken one. The connection's
     * next read takes that result instead of reading the socket itself, so nothing is lost and nothing is read twice.
     * A read blocked on the socket costs nothing while it waits (Helidon's own idle mode, by contrast, reads with a
     * 101 ms timeout in a loop and throws an exception every time it expires). Returns {@code null} when bytes are
     * already buffered (the client sent more already: a read cannot tell whether it left).
     */
    CompletableFuture<Object> readAhead() {
        return source.readAhead();
    }

    /** What {@link #readAhead} gives when the client closed the connection. */
    static final Object END = new Object();

    /** Where the reader's bytes come from: what Helidon buffered, a read ahead, the socket. */
    private static final class Source {
        private final DataReader buffered;
        private final HelidonSocket socket;
        private final Runnable onBytes;
        private volatile CompletableFuture<Object> ahead;

        Source(DataReader buffered, HelidonSocket socket, Runnable onBytes) {
            this.buffered = buffered;
            this.socket = socket;
            this.onBytes = onBytes;
        }

        CompletableFuture<Object> readAhead() {
            if (buffered.available() > 0) {
                return null;
            }
            CompletableFuture<Object> f = ahead;
            if (f == null) {
                CompletableFuture<Object> started = new CompletableFuture<>();
                ahead = started;
                Thread.ofVirtual().name("client-read-ahead").start(() -> {
                    try {
                        byte[] bytes = socket.get();
                        started.complete(bytes == null ? END : bytes);
                    } catch (RuntimeException e) {
                        started.complete(e);
                    }
                });
                f = started;
            }
            return f;
        }

        byte[] next() {
            int pending = buffered.available();
            if (pending > 0) {
                onBytes.run();
                return buffered.readBytes(pending);
            }
            CompletableFuture<Object> f = ahead;
            if (f != null) {
                ahead = null;
                Object got = f.join();
                if (got == END) {
                    return null;
                }
                if (got instanceof RuntimeException e) {
                    throw e instanceof UncheckedIOException io
                            ? new ServerConnectionException("Failed to get data from socket", io) : e;
                }
                onBytes.run();
                return (byte[]) got;
            }
            try {
                byte[] bytes = socket.get();
                if (bytes != null) {
                    onBytes.run();
                }
                return bytes;
            } catch (UncheckedIOException e) {
                throw new ServerConnectionException("Failed to get data from socket", e);
            }
        }
    }

    @Override
    public LazyString readLazyString(Charset charset, int len) {
        return super.readLazyString(StandardCharsets.ISO_8859_1, len);
    }

    @Override
    public byte[] readBytes(int len) {
        byte[] bytes = super.readBytes(len);
        if (inHead) {
            return bytes; // a Connection header value
        }
        // a request line (Helidon reads it whole with this method, then parses the copy it gets)
        lineTarget = null;
        for (byte b : bytes) {
            if (b < 0) {
                return percentEncodeHighBytes(bytes);
            }
        }
        return bytes;
    }

    private byte[] percentEncodeHighBytes(byte[] line) {
        String text = new String(line, StandardCharsets.ISO_8859_1);
        int first = text.indexOf(' ');
        int last = text.lastIndexOf(' ');
        if (first > 0 && last > first) {
            lineTarget = text.substring(first + 1, last);
        }
        int high = 0;
        for (byte b : line) {
            if (b < 0) {
                high++;
            }
        }
        byte[] out = new byte[line.length + 2 * high];
        int o = 0;
        for (byte b : line) {
            if (b < 0) {
                out[o++] = '%';
                out[o++] = HEX[(b & 0xff) >> 4];
                out[o++] = HEX[b & 0x0f];
            } else {
                out[o++] = b;
            }
        }
        return out;
    }

    /** Called when a request line has been parsed: until {@link #headEnd()}, {@link #readBytes} reads header values. */
    void headStart() {
        inHead = true;
        originalTarget = lineTarget;
    }

    /** Called when a header section has been parsed. */
    void headEnd() {
        inHead = false;
    }

    /**
     * The target of the current request exactly as it came (bytes as ISO-8859-1 chars), when it had bytes over 0x7F
     * that Helidon saw percent-encoded; else {@code null}.
     */
    String originalTarget() {
        return originalTarget;
    }
}
