package dev.vllmrouter.server;

import java.lang.System.Logger.Level;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PeerInfo;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;

/**
 * One client connection as the router's HTTP/1 handling sees it: Helidon's connection context with the router's
 * {@link WireReader} (bytes over 0x7F pass through) and a writer that times each write, so that a client that stops
 * reading cannot hold a request (its worker connection, lease and admission slot) for ever.
 * <p><b>Write limit:</b> while a write is blocked (the client's TCP window and the socket buffer are full),
 * {@link #writingSince} holds when it started; {@link ClientConnections} looks at every open connection a few times a
 * second and closes one whose write has been blocked longer than {@code --client-write-timeout-secs}, or past the
 * current request's total deadline ({@link #deadline}). The blocked write then fails, the relay sees the client
 * gone and closes the worker connection (vLLM aborts the generation). A write that finishes in time costs two
 * volatile stores and a clock read; no timer per write.
 * <p><b>Head and idle limits:</b> {@link #headSince} holds when the awaited request head started to count, or 0
 * while a request is handled. The first head counts from {@code accept()} (a TLS handshake included) and is bound
 * by {@code --client-header-timeout-secs}; after a request ({@link #requestDone}) the connection waits for the next
 * one under {@code --client-idle-timeout-secs} until a byte of it arrives, and from that byte on the header limit
 * holds again. {@link ClientConnections} closes a connection whose head is overdue, so a client that sends nothing,
 * or a head one byte at a time, holds its descriptor no longer than those limits.
 */
final class ClientConnection implements ConnectionContext, DataWriter {
    private static final System.Logger LOG = System.getLogger(ClientConnection.class.getName());

    private final ConnectionContext ctx;
    private final DataWriter out;
    private final WireReader reader;
    /** {@link System#nanoTime()} when the write in progress started (never 0 then), or 0 when none is. */
    private volatile long writingSince;
    /** {@link System#nanoTime()} by which writes of the current request must be done, or 0 for none. */
    private volatile long deadline;
    private volatile boolean cut;
    /** {@link System#nanoTime()} from which the awaited request head is timed (never 0 then), or 0 during a request. */
    private volatile long headSince;
    /** Whether the awaited head is under the header limit (its first byte came, or it is the first) or the idle one. */
    private volatile boolean headStarted = true;

    /** @param acceptedAt {@link System#nanoTime()} of the connection's {@code accept()} */
    ClientConnection(ConnectionContext ctx, long acceptedAt) {
        this.ctx = ctx;
        this.out = ctx.dataWriter();
        this.reader = new WireReader(ctx.dataReader(), ctx.serverSocket(), this::bytesRead);
        this.headSince = nonZero(acceptedAt);
    }

    private static long nonZero(long nanoTime) {
        return nanoTime == 0 ? 1 : nanoTime;
    }

    /** A request head is in: from now on the request's own limits hold (body, writes). */
    void headDone() {
        headSince = 0;
    }

    /** The request is answered: the connection now waits for the next one, under the idle limit. */
    void requestDone() {
        headStarted = false;
        headSince = nonZero(System.nanoTime());
    }

    /** Bytes came from the socket: if the connection was idle, they start a head, timed from now. */
    private void bytesRead() {
        if (!headStarted && headSince != 0) {
            headStarted = true;
            headSince = nonZero(System.nanoTime());
        }
    }

    /**
     * Closes the connection if its awaited head is overdue: started (or the first) and older than
     * {@code headerLimitNanos}, or idle longer than {@code idleLimitNanos}.
     *
     * @return {@code "header"} or {@code "idle"} when it was closed now, else {@code null}
     */
    String cutIfHeadOverdue(long now, long headerLimitNanos, long idleLimitNanos) {
        long since = headSince;
        if (since == 0 || cut) {
            return null;
        }
        boolean started = headStarted;
        if (now - since <= (started ? headerLimitNanos : idleLimitNanos)) {
            return null;
        }
        cut = true;
        LOG.log(Level.DEBUG, "client {0}: {1}; closing the connection",
                remotePeer().host() + ":" + remotePeer().port(), started
                        ? "no complete request head within --client-header-timeout-secs"
                        : "idle longer than --client-idle-timeout-secs");
        closeSocket();
        return started ? "header" : "idle";
    }

    private void closeSocket() {
        // closing a TLS socket may wait for a blocked writer's lock: never on the sweeping thread
        Thread.ofVirtual().name("client-cut").start(() -> {
            try {
                ctx.serverSocket().close();
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "closing a client connection: " + e);
            }
        });
    }

    WireReader reader() {
        return reader;
    }

    /** Sets ({@code nanoTime}) or clears ({@code 0}) the total deadline of the current request's writes. */
    void deadline(long nanoTime) {
        deadline = nanoTime;
    }

    /**
     * Closes the connection if a write has been blocked longer than {@code limitNanos} or past the deadline.
     *
     * @return whether it was closed now
     */
    boolean cutIfOverdue(long now, long limitNanos) {
        long since = writingSince;
        if (since == 0 || cut) {
            return false;
        }
        long d = deadline;
        boolean stalled = now - since > limitNanos;
        if (!stalled && (d == 0 || now - d < 0)) {
            return false;
        }
        cut = true;
        LOG.log(Level.INFO, "client {0}: a write was blocked {1} ms ({2}); closing the connection",
                remotePeer().host() + ":" + remotePeer().port(), (now - since) / 1_000_000,
                stalled ? "--client-write-timeout-secs" : "the request's total deadline, --request-timeout-secs");
        closeSocket();
        return true;
    }

    private void begin() {
        long now = System.nanoTime();
        writingSince = now == 0 ? 1 : now;
    }

    // ---- DataWriter: every write of a response goes through here

    @Override
    public void write(BufferData... buffers) {
        begin();
        try {
            out.write(buffers);
        } finally {
            writingSince = 0;
        }
    }

    @Override
    public void write(BufferData buffer) {
        begin();
        try {
            out.write(buffer);
        } finally {
            writingSince = 0;
        }
    }

    @Override
    public void writeNow(BufferData... buffers) {
        begin();
        try {
            out.writeNow(buffers);
        } finally {
            writingSince = 0;
        }
    }

    @Override
    public void writeNow(BufferData buffer) {
        begin();
        try {
            out.writeNow(buffer);
        } finally {
            writingSince = 0;
        }
    }

    @Override
    public void flush() {
        begin();
        try {
            out.flush();
        } finally {
            writingSince = 0;
        }
    }

    @Override
    public void close() {
        out.close();
    }

    // ---- ConnectionContext: Helidon's, with this reader and writer

    @Override
    public DataWriter dataWriter() {
        return this;
    }

    @Override
    public DataReader dataReader() {
        return reader;
    }

    @Override
    public ListenerContext listenerContext() {
        return ctx.listenerContext();
    }

    @Override
    public ExecutorService executor() {
        return ctx.executor();
    }

    @Override
    public Router router() {
        return ctx.router();
    }

    @Override
    public Optional<ProxyProtocolData> proxyProtocolData() {
        return ctx.proxyProtocolData();
    }

    @Override
    public HelidonSocket serverSocket() {
        return ctx.serverSocket();
    }

    @Override
    public PeerInfo remotePeer() {
        return ctx.remotePeer();
    }

    @Override
    public PeerInfo localPeer() {
        return ctx.localPeer();
    }

    @Override
    public boolean isSecure() {
        return ctx.isSecure();
    }

    @Override
    public String socketId() {
        return ctx.socketId();
    }

    @Override
    public String childSocketId() {
        return ctx.childSocketId();
    }
}
