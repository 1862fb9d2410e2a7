package dev.vllmrouter.upstream;

import java.io.InputStream;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker's response: status and headers are parsed; the body is an {@link InputStream} that hands out bytes as
 * they arrive. When the body was read to its end on a keep-alive connection, the connection goes back to the pool;
 * {@link #close()} before that closes the connection, which is how an abandoned generation is aborted on the worker.
 * <p>Thread-safety: {@link #close()} may be called from any thread, also while another thread reads (the deadline
 * watchdog does); the connection is released or closed exactly once (one CAS decides which).
 */
public final class UpstreamResponse implements AutoCloseable {
    private static final int OPEN = 0;
    private static final int RELEASED = 1;
    private static final int CLOSED = 2;

    private final int status;
    private final WireHeaders headers;
    private final Connection connection;
    private final ConnectionPool pool;
    private final boolean keepAlive;
    private final long length;
    private final AtomicInteger state = new AtomicInteger(OPEN);
    private InputStream body;

    UpstreamResponse(int status, WireHeaders headers, Connection connection, ConnectionPool pool, boolean keepAlive,
                     long length) {
        this.status = status;
        this.length = length;
        this.headers = headers;
        this.connection = connection;
        this.pool = pool;
        this.keepAlive = keepAlive;
    }

    void body(InputStream body) {
        this.body = body;
    }

    public int status() {
        return status;
    }

    public WireHeaders headers() {
        return headers;
    }

    public InputStream body() {
        return body;
    }

    /**
     * The body's length as its framing says: 0 when there is none (an answer to HEAD, a 204 or a 304, whatever its
     * Content-Length says), the byte count of a Content-Length body, or -1 when it is not known ahead (chunked, or
     * until the connection closes).
     */
    public long bodyLength() {
        return length < 0 ? -1 : length;
    }

    /**
     * Bounds the total time of this response: once {@code deadline} (in {@code ticker}'s time) has passed, the
     * connection is closed within a {@link ReadWatchdog} tick, so a blocked read fails at once (as a timeout), and
     * {@link #deadlinePassed()} turns true. For answers that may run for minutes (streams); no timer per request.
     */
    public void deadline(dev.vllmrouter.common.Ticker ticker, long deadline) {
        connection.totalDeadline(connection.watchdog().ticker().nanos() + (deadline - ticker.nanos()));
    }

    /** Whether {@link #deadline} closed the response. */
    public boolean deadlinePassed() {
        return connection.totalExpired();
    }

    /** Called by the body stream when the body ended properly. */
    void bodyComplete() {
        if (keepAlive && !connection.hasBuffered() && state.compareAndSet(OPEN, RELEASED)) {
            if (connection.clearTotalDeadline()) {
                pool.release(connection);
            } else {
                connection.close(); // the watchdog took it at the same moment
            }
        }
    }

    @Override
    public void close() {
        if (state.compareAndSet(OPEN, CLOSED)) {
            connection.close();
        }
    }
}
