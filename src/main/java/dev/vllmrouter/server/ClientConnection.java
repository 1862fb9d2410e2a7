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

    ClientConnection(ConnectionContext ctx) {
        this.ctx = ctx;
        this.out = ctx.dataWriter();
        this.reader = new WireReader(ctx.dataReader(), ctx.serverSocket());
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
        // closing a TLS socket may wait for the blocked writer's lock: never on the watchdog's thread
        Thread.ofVirtual().name("client-write-cut").start(() -> {
            try {
                ctx.serverSocket().close();
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "closing a stalled client connection: " + e);
            }
        });
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
