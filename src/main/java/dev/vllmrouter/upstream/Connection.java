package dev.vllmrouter.upstream;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * One HTTP/1.1 connection to a worker: a blocking socket (cheap on virtual threads) with its own read buffer, so
 * the response head is parsed without per-byte calls and body bytes are handed out as soon as they arrive. Used by
 * one request at a time; {@link #close()} may come from another thread (the deadline watchdog) and makes a blocked
 * read fail at once.
 * <p>Reads have no socket timeout: each publishes its deadline for the {@link ReadWatchdog}, which closes the
 * connection when a read overstays it; such a read then throws {@link SocketTimeoutException}.
 * <p>The socket is a {@link SocketChannel}'s, so that {@link #stillClean()} can look without blocking whether the
 * worker closed an idle connection or sent bytes nobody asked for, before it carries another request.
 */
final class Connection {
    private static final int BUFFER = 16 * 1024;

    private final Origin origin;
    private final SocketChannel channel;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buf = new byte[BUFFER];
    private int pos;
    private int limit;
    private long received;      // bytes read since the current request was written
    private int requests;       // requests sent on this connection
    private long idleSince;     // ticker time when it was last returned to the pool
    private long readTimeoutNanos = MAX_READ_TIMEOUT.toNanos();
    private final ReadWatchdog watchdog;
    // Deadlines in watchdog time: NONE, a time, or EXPIRED once the watchdog claimed it (by CAS, so a read or a
    // release that ends at the same moment either wins, and the connection stays, or sees EXPIRED and gives it up).
    private final AtomicLong ioDeadline = new AtomicLong(NONE);    // of the socket read or write in progress
    private final AtomicLong totalDeadline = new AtomicLong(NONE); // of the whole current response
    private volatile boolean expired;   // closed by the watchdog
    private volatile boolean totalExpired;

    private static final String READ_TIMEOUT = "Read timed out (no data from the worker for";
    private static final String WRITE_TIMEOUT = "Write timed out (the worker read none of the request for";
    private static final long NONE = 0;
    private static final long EXPIRED = Long.MIN_VALUE;

    private static final Duration MAX_READ_TIMEOUT = Duration.ofDays(365);

    private Connection(Origin origin, SocketChannel channel, Socket socket, ReadWatchdog watchdog) throws IOException {
        this.origin = origin;
        this.channel = channel;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.watchdog = watchdog;
        watchdog.watch(this);
    }

    static Connection open(Origin origin, Duration connectTimeout) throws IOException {
        return open(origin, connectTimeout, ReadWatchdog.SHARED, null);
    }

    static Connection open(Origin origin, Duration connectTimeout, ReadWatchdog watchdog) throws IOException {
        return open(origin, connectTimeout, watchdog, null);
    }

    /** @param tls the TLS socket factory for {@code https} workers, or {@code null} for the JVM's default */
    static Connection open(Origin origin, Duration connectTimeout, ReadWatchdog watchdog, SSLSocketFactory tls)
            throws IOException {
        SocketChannel channel = SocketChannel.open();
        Socket socket = channel.socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            socket.connect(new InetSocketAddress(origin.host(), origin.port()), (int) connectTimeout.toMillis());
            if (origin.tls()) {
                SSLSocketFactory factory = tls != null ? tls : (SSLSocketFactory) SSLSocketFactory.getDefault();
                SSLSocket ssl = (SSLSocket) factory.createSocket(socket, origin.host(), origin.port(), true);
                SSLParameters params = ssl.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(params);
                ssl.setSoTimeout((int) Math.max(1, connectTimeout.toMillis()));
                ssl.startHandshake();
                ssl.setSoTimeout(0); // from here on the watchdog times reads
                return new Connection(origin, channel, ssl, watchdog);
            }
            return new Connection(origin, channel, socket, watchdog);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    Origin origin() {
        return origin;
    }

    /** Whether this connection already carried a request (a pooled one the worker may have closed meanwhile). */
    boolean reused() {
        return requests > 1;
    }

    long idleSince() {
        return idleSince;
    }

    void idleSince(long nanos) {
        this.idleSince = nanos;
    }

    /** Writes one request (head and body) and prepares to read its response. */
    void send(byte[] head, byte[] body, Duration readTimeout) throws IOException {
        requests++;
        received = 0;
        Duration t = readTimeout.compareTo(MAX_READ_TIMEOUT) > 0 ? MAX_READ_TIMEOUT : readTimeout;
        readTimeoutNanos = Math.max(1_000_000L, t.toNanos());
        // the same limit for a worker that stops reading the request as for one that stops answering
        arm();
        try {
            if (body != null && body.length > 0 && body.length <= 16 * 1024) {
                // one write: no second segment waiting on an ACK
                byte[] all = new byte[head.length + body.length];
                System.arraycopy(head, 0, all, 0, head.length);
                System.arraycopy(body, 0, all, head.length, body.length);
                out.write(all);
            } else {
                out.write(head);
                if (body != null && body.length > 0) {
                    out.write(body);
                }
            }
            out.flush();
        } catch (IOException e) {
            throw disarm(e, WRITE_TIMEOUT);
        } catch (RuntimeException e) {
            ioDeadline.set(NONE);
            throw e;
        }
        IOException timedOut = disarm(null, WRITE_TIMEOUT);
        if (timedOut != null) {
            throw timedOut;
        }
    }

    /** Bytes of the current response received so far (0 means the worker sent nothing yet). */
    long received() {
        return received;
    }

    /** Ensures at least one unread byte is buffered; false at end of stream. */
    private boolean fill() throws IOException {
        if (pos < limit) {
            return true;
        }
        int n = socketRead(buf, 0, buf.length);
        if (n < 0) {
            return false;
        }
        pos = 0;
        limit = n;
        received += n;
        return true;
    }

    /** Reads one CRLF- (or LF-) terminated line of at most {@code max} bytes, without the terminator. */
    String readLine(int max) throws IOException {
        StringBuilder sb = null;
        while (true) {
            if (!fill()) {
                throw new EOFException("worker closed the connection"
                        + (received == 0 ? " before answering" : " in the middle of the response head"));
            }
            int start = pos;
            while (pos < limit) {
                if (buf[pos] == '\n') {
                    int end = pos;
                    pos++;
                    String part = new String(buf, start, end - start, StandardCharsets.ISO_8859_1);
                    String line = sb == null ? part : sb.append(part).toString();
                    return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
                }
                pos++;
            }
            if (sb == null) {
                sb = new StringBuilder();
            }
            sb.append(new String(buf, start, pos - start, StandardCharsets.ISO_8859_1));
            if (sb.length() > max) {
                throw new IOException("response line longer than " + max + " bytes");
            }
        }
    }

    /** Reads up to {@code len} bytes: what is buffered, else one socket read. -1 at end of stream. */
    int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (pos >= limit) {
            if (len >= buf.length) {
                // large reads bypass the buffer
                int n = socketRead(b, off, len);
                if (n > 0) {
                    received += n;
                }
                return n;
            }
            if (!fill()) {
                return -1;
            }
        }
        int n = Math.min(len, limit - pos);
        System.arraycopy(buf, pos, b, off, n);
        pos += n;
        return n;
    }

    /** One read from the socket, under the watchdog's eye. */
    private int socketRead(byte[] b, int off, int len) throws IOException {
        arm();
        int n;
        try {
            n = in.read(b, off, len);
        } catch (IOException e) {
            throw disarm(e, READ_TIMEOUT);
        } catch (RuntimeException e) {
            ioDeadline.set(NONE);
            throw e;
        }
        // a socket closed under a blocked read may also end it with -1 (TLS does): never mistake that for an end
        IOException timedOut = disarm(null, READ_TIMEOUT);
        if (timedOut != null) {
            throw timedOut;
        }
        return n;
    }

    /** Starts a guarded socket call: the watchdog may end it once the read timeout has passed. */
    private void arm() {
        ioDeadline.set(armable(watchdog.ticker().nanos() + readTimeoutNanos));
    }

    /** Ends a guarded socket call: the timeout when the watchdog claimed it, else {@code failure} (may be null). */
    private IOException disarm(IOException failure, String what) {
        return ioDeadline.getAndSet(NONE) == EXPIRED || expired ? timeout(failure, what) : failure;
    }

    private SocketTimeoutException timeout(IOException cause, String what) {
        SocketTimeoutException timeout = new SocketTimeoutException(totalExpired
                ? "the answer took longer than its total time limit"
                : what + " " + Duration.ofNanos(readTimeoutNanos).toMillis() + " ms)");
        if (cause != null) {
            timeout.initCause(cause);
        }
        return timeout;
    }

    private static long armable(long deadline) {
        return deadline == NONE || deadline == EXPIRED ? deadline + 1 : deadline;
    }

    /** Whether a socket read is in progress (for tests). */
    boolean reading() {
        return ioDeadline.get() != NONE;
    }

    /** Bounds the rest of the current response: past {@code deadline} (watchdog time) the connection is closed. */
    void totalDeadline(long deadline) {
        totalDeadline.set(armable(deadline));
    }

    /**
     * Lifts {@link #totalDeadline(long)} before the connection goes back to the pool.
     *
     * @return false when the watchdog has already claimed the connection (it is being closed: do not pool it)
     */
    boolean clearTotalDeadline() {
        return totalDeadline.getAndSet(NONE) != EXPIRED;
    }

    /** Whether the watchdog closed this connection because its response overran its total deadline. */
    boolean totalExpired() {
        return totalExpired;
    }

    ReadWatchdog watchdog() {
        return watchdog;
    }

    /** Called by the watchdog: closes the connection if its response or the read in progress is past its deadline. */
    void expireIfOverdue(long now) {
        long total = totalDeadline.get();
        if (total != NONE && total != EXPIRED && now - total >= 0 && totalDeadline.compareAndSet(total, EXPIRED)) {
            totalExpired = true;
            expired = true;
            close();
            return;
        }
        long deadline = ioDeadline.get();
        if (deadline != NONE && deadline != EXPIRED && now - deadline >= 0
                && ioDeadline.compareAndSet(deadline, EXPIRED)) {
            expired = true;
            close();
        }
    }

    /** Consumes the CRLF that ends a chunk's data. */
    void expectCrlf() throws IOException {
        String rest = readLine(64);
        if (!rest.isEmpty()) {
            throw new IOException("malformed chunked body: expected CRLF after chunk data");
        }
    }

    /** Unread bytes in the buffer: what can be read without touching the socket. */
    int buffered() {
        return limit - pos;
    }

    /** The {@code i}-th unread buffered byte ({@code 0 <= i < buffered()}). */
    byte peek(int i) {
        return buf[pos + i];
    }

    /**
     * Whether this idle connection can carry another request: nothing is buffered, and a read that does not wait
     * finds neither the end of the stream (the worker closed it) nor bytes (anything the worker sent after its last
     * response is not an answer to the next request, RFC 9112 §6.3). Proof, before a single byte is written, that a
     * request sent on it reaches a worker that still reads this connection. A connection found unclean is spent:
     * close it.
     */
    boolean stillClean() {
        if (pos < limit) {
            return false;
        }
        try {
            if (socket != channel.socket() && socket.getInputStream().available() > 0) {
                return false; // TLS: a record already decrypted
            }
            int n;
            channel.configureBlocking(false);
            try {
                n = channel.read(ByteBuffer.wrap(buf, 0, 1));
            } finally {
                channel.configureBlocking(true);
            }
            return n == 0;
        } catch (IOException | RuntimeException e) {
            return false; // reset, closed by the watchdog, ...
        }
    }

    /** Bytes that arrived on the socket and were not read yet (for tests; does not consume them). */
    int waitingOnSocket() {
        try {
            return socket.getInputStream().available();
        } catch (IOException e) {
            return -1;
        }
    }

    /** Whether unread bytes are buffered (a clean connection has none between responses). */
    boolean hasBuffered() {
        return pos < limit;
    }

    void close() {
        watchdog.forget(this);
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    boolean isClosed() {
        return socket.isClosed();
    }
}
