package dev.vllmrouter.server;

import java.lang.System.Logger.Level;
import java.lang.reflect.Field;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.atomic.AtomicLong;

import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PlainSocket;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.WritableHeaders;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;

import dev.vllmrouter.config.ClientListenerConfig;

/**
 * The router's view of its client connections, one sweep every {@value #CHECK_MILLIS} ms on the maintenance
 * scheduler for all of them:
 * <ul>
 * <li><b>Request heads.</b> Helidon calls this listener on the connection's own thread for each HTTP/1 request
 *     line and header section, just before routing: the framing is checked ({@link RequestFraming}) and the
 *     connection remembered for the handler that then runs on the same thread.</li>
 * <li><b>Hang-ups</b> ({@link #watch}): a client that closes its connection while its request is in a stage that
 *     writes nothing to it (waiting for a worker's answer, a prefill, the admission queue). A watch costs nothing
 *     at first; one that lasts {@value #WATCH_AFTER_MILLIS} ms starts a read of the client's socket ahead of the
 *     connection ({@link WireReader#readAhead}): a virtual thread blocked in that read costs nothing while it waits; a
 *     FIN (or a reset) ends it at once and the watch acts on it then, while bytes the client sends (its next request)
 *     are handed to the connection's next read. (Helidon's own idle mode, used only for a connection that is not the
 *     router's, reads with a 101 ms timeout in a loop and throws an exception each time: a third of the router's CPU
 *     with thousands of requests waiting for their first token, docs/benchmarks.md.)</li>
 * <li><b>Writes</b> ({@link ClientConnection}): a connection whose write has been blocked longer than
 *     {@code --client-write-timeout-secs}, or past its request's total deadline, is closed.</li>
 * <li><b>Heads and idle keep-alive</b> ({@link ClientConnection}): a connection whose request head is not in
 *     within {@code --client-header-timeout-secs}, or that waits for its next request longer than
 *     {@code --client-idle-timeout-secs}, is closed; so is a socket accepted longer ago than the header limit that
 *     never became an HTTP/1 connection (a TLS handshake not finished, nothing sent: {@link ClientSockets}).</li>
 * </ul>
 * <p>Helidon's idle monitor reads in 101 ms slices and gives up after the socket's read timeout, which on server
 * connections is 0 (none) — it would then report the socket closed after one slice. So the accepted socket's timeout
 * is first set to {@link Integer#MAX_VALUE} ms (still "none" in practice). Helidon offers no API for the raw socket;
 * it is reached by reflection on {@link PlainSocket} (Helidon 4.3.0; its TLS socket is one too). Should that fail,
 * hang-ups are not watched (logged once) and requests are served as before.
 */
public final class ClientConnections implements Http1ConnectionListener {
    private static final System.Logger LOG = System.getLogger(ClientConnections.class.getName());
    static final long CHECK_MILLIS = 250;
    /** How long a watch waits before it starts a monitor: most answers come sooner, and then cost no thread. */
    static final long WATCH_AFTER_MILLIS = 1000;
    private static final Field DELEGATE = delegateField();

    private final ThreadLocal<ConnectionContext> current = new ThreadLocal<>();
    private final Set<Watch> watches = ConcurrentHashMap.newKeySet();
    private final Set<ClientConnection> open = ConcurrentHashMap.newKeySet();
    private final long writeLimitNanos;
    private final long headerLimitNanos;
    private final long idleLimitNanos;
    private final ClientSockets sockets;
    private final AtomicLong idleTimeouts = new AtomicLong();
    private final AtomicLong headerTimeouts = new AtomicLong();

    /**
     * @param scheduler    runs the sweeps
     * @param writeTimeout longest a write to a client may stay blocked ({@code --client-write-timeout-secs})
     * @param limits       the connection cap and the head and idle limits
     */
    ClientConnections(ScheduledExecutorService scheduler, Duration writeTimeout, ClientListenerConfig limits) {
        this.writeLimitNanos = writeTimeout.toNanos();
        this.headerLimitNanos = limits.headerTimeout().toNanos();
        this.idleLimitNanos = limits.idleTimeout().toNanos();
        this.sockets = new ClientSockets(limits.maxConnections(), headerLimitNanos);
        scheduler.scheduleAtFixedRate(this::sweep, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The accepted client sockets: the cap and the limit before a connection's first head. */
    ClientSockets sockets() {
        return sockets;
    }

    /** Client connections open now. */
    public int open() {
        return sockets.open();
    }

    /**
     * Client connections closed by the router's limits since start: {@code refused} (over
     * {@code --max-client-connections}), {@code header_timeout}, {@code idle_timeout}.
     */
    public Map<String, Long> closedByLimits() {
        return Map.of("refused", sockets.refused(),
                "header_timeout", sockets.headerTimeouts() + headerTimeouts.get(),
                "idle_timeout", idleTimeouts.get());
    }

    /**
     * The client-connection series, rendered at scrape: {@code vllm_router_client_connections} (open now),
     * {@code vllm_router_client_connections_max} ({@code --max-client-connections}) and
     * {@code vllm_router_client_connections_closed_total{reason}} ({@link #closedByLimits}).
     */
    public CharSequence metricsText() {
        StringBuilder out = new StringBuilder(640);
        out.append("# HELP vllm_router_client_connections Client connections open on the router's listener\n")
                .append("# TYPE vllm_router_client_connections gauge\n")
                .append("vllm_router_client_connections ").append(sockets.open()).append('\n')
                .append("# HELP vllm_router_client_connections_max Most client connections open at once "
                        + "(--max-client-connections)\n")
                .append("# TYPE vllm_router_client_connections_max gauge\n")
                .append("vllm_router_client_connections_max ").append(sockets.max()).append('\n')
                .append("# HELP vllm_router_client_connections_closed_total Client connections the router closed "
                        + "for a limit\n")
                .append("# TYPE vllm_router_client_connections_closed_total counter\n");
        for (Map.Entry<String, Long> e : new java.util.TreeMap<>(closedByLimits()).entrySet()) {
            out.append("vllm_router_client_connections_closed_total{reason=\"").append(e.getKey()).append("\"} ")
                    .append(e.getValue()).append('\n');
        }
        return out;
    }

    /** A new client connection (its socket is known by {@code raw}, or {@code null}) reaches HTTP/1 handling. */
    ClientConnection connect(ConnectionContext ctx) {
        long now = System.nanoTime();
        Socket raw = null;
        if (DELEGATE != null && ctx.serverSocket() instanceof PlainSocket plain) {
            try {
                raw = (Socket) DELEGATE.get(plain);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // timed from now
            }
        }
        return new ClientConnection(ctx, sockets.claim(raw, now));
    }

    /** The request handled on the calling thread is answered: its connection now waits for the next. */
    void requestDone() {
        if (current.get() instanceof ClientConnection c) {
            c.requestDone();
        }
    }

    // ---- request heads

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        if (ctx instanceof ClientConnection c) {
            c.reader().headStart();
        }
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        if (ctx instanceof ClientConnection c) {
            c.reader().headEnd();
            c.headDone();
        }
        current.set(ctx);
        if (headers instanceof WritableHeaders<?> writable) {
            RequestFraming.check(writable);
        }
    }

    /**
     * The target of the request handled on the calling thread exactly as it came (bytes as ISO-8859-1 chars), when
     * it had bytes over 0x7F that Helidon saw percent-encoded; else {@code null}.
     */
    String originalTarget() {
        return current.get() instanceof ClientConnection c ? c.reader().originalTarget() : null;
    }

    // ---- writes

    void opened(ClientConnection c) {
        open.add(c);
    }

    void closed(ClientConnection c) {
        open.remove(c);
    }

    /** Bounds the writes of the request handled on the calling thread by {@code nanoTime}; 0 lifts the bound. */
    void writeDeadline(long nanoTime) {
        if (current.get() instanceof ClientConnection c) {
            c.deadline(nanoTime);
        }
    }

    // ---- hang-ups

    /**
     * Watches the connection of the request handled on the calling thread until the handle is closed: if the client
     * closes it meanwhile, {@code onGone} runs once, on the sweeping thread.
     */
    AutoCloseable watch(Runnable onGone) {
        ConnectionContext ctx = current.get();
        if (ctx == null || DELEGATE == null || !(ctx.serverSocket() instanceof PlainSocket)) {
            return () -> { };
        }
        Watch w = new Watch(ctx.serverSocket(), ctx instanceof ClientConnection c ? c.reader() : null, onGone,
                System.nanoTime());
        watches.add(w);
        return w;
    }

    /**
     * One watched request; its monitor state changes under its own lock, so closing it sees the idle mode. A lock, not
     * a monitor: {@code onGone} closes sockets under it, and a virtual thread waiting on a monitor pins its carrier on
     * JDK 21.
     */
    private final class Watch implements AutoCloseable {
        private final HelidonSocket socket;
        /** The connection's reader, which can read ahead; {@code null}: Helidon's idle mode instead. */
        private final WireReader reader;
        private final Runnable onGone;
        private final long since;
        private java.util.concurrent.CompletableFuture<Object> ahead;
        private final ReentrantLock lock = new ReentrantLock();
        private boolean done;
        private boolean idling;

        Watch(HelidonSocket socket, WireReader reader, Runnable onGone, long since) {
            this.socket = socket;
            this.reader = reader;
            this.onGone = onGone;
            this.since = since;
        }

        /**
         * One sweep: starts the monitor, or looks whether the client left. {@code onGone} runs under the lock, so
         * once {@link #close()} returns it has either run completely or will never run.
         */
        void check(long now) {
            lock.lock();
            try {
                checkLocked(now);
            } finally {
                lock.unlock();
            }
        }

        private void checkLocked(long now) {
            if (done) {
                return;
            }
            if (!idling) {
                if (now - since >= TimeUnit.MILLISECONDS.toNanos(WATCH_AFTER_MILLIS)) {
                    if (reader != null) {
                        ahead = reader.readAhead();
                        if (ahead == null) { // bytes already buffered: a read cannot tell whether the client left
                            done = true;
                            watches.remove(this);
                            return;
                        }
                        idling = true;
                        // the read's end is acted on at once, on its own thread, not at the next sweep
                        ahead.whenComplete((r, e) -> check(System.nanoTime()));
                        return;
                    } else {
                        if (!finiteReadTimeout(socket)) {
                            done = true;
                            watches.remove(this);
                            return;
                        }
                        socket.idle();
                    }
                    idling = true;
                }
                return;
            }
            boolean gone;
            if (ahead != null) {
                if (!ahead.isDone()) {
                    return;
                }
                Object got = ahead.join();
                gone = got == WireReader.END || got instanceof RuntimeException;
                if (!gone) { // the client sent more (a pipelined request): no hang-up to see any more
                    done = true;
                    watches.remove(this);
                    return;
                }
            } else {
                gone = !socket.isConnected();
            }
            if (gone) {
                done = true;
                watches.remove(this);
                try {
                    onGone.run();
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "acting on a client that left failed", e);
                }
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                done = true;
            } finally {
                lock.unlock();
            }
            watches.remove(this);
        }
    }

    private void sweep() {
        try {
            long now = System.nanoTime();
            for (Watch w : watches) {
                w.check(now);
            }
            for (ClientConnection c : open) {
                if (!c.cutIfOverdue(now, writeLimitNanos)) {
                    String cut = c.cutIfHeadOverdue(now, headerLimitNanos, idleLimitNanos);
                    if (cut != null) {
                        (cut.equals("idle") ? idleTimeouts : headerTimeouts).incrementAndGet();
                    }
                }
            }
            sockets.sweep(now);
        } catch (RuntimeException | Error e) {
            LOG.log(Level.WARNING, "client connection sweep failed", e); // the next sweep runs regardless
        }
    }

    // ---- body reads

    /** Undoes a setting; closing cannot fail. */
    interface Restore extends AutoCloseable {
        @Override
        void close();
    }

    /** A bound on the reads of one request's connection, to be changed between reads, then undone. */
    interface ReadBound extends Restore {
        /** Bounds every later read by {@code millis} (at least 1). */
        void timeout(long millis);
    }

    /**
     * Bounds every read of the calling request's connection by {@code timeout} until the handle is closed (then the
     * previous timeout is back); the handle changes the bound between reads. Does nothing when the socket cannot be
     * reached.
     */
    ReadBound readTimeout(Duration timeout) {
        ConnectionContext ctx = current.get();
        if (ctx == null || DELEGATE == null || !(ctx.serverSocket() instanceof PlainSocket plain)) {
            return NO_BOUND;
        }
        try {
            Socket raw = (Socket) DELEGATE.get(plain);
            int before = raw.getSoTimeout();
            ReadBound bound = new ReadBound() {
                @Override
                public void timeout(long millis) {
                    try {
                        raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE - 1, Math.max(1, millis)));
                    } catch (java.io.IOException e) {
                        // the socket is closed: the next read says so
                    }
                }

                @Override
                public void close() {
                    try {
                        raw.setSoTimeout(before);
                    } catch (java.io.IOException e) {
                        // the socket is closed: nothing to restore
                    }
                }
            };
            bound.timeout(timeout.toMillis());
            return bound;
        } catch (ReflectiveOperationException | java.io.IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "cannot bound client reads: " + e);
            return NO_BOUND;
        }
    }

    private static final ReadBound NO_BOUND = new ReadBound() {
        @Override
        public void timeout(long millis) {
        }

        @Override
        public void close() {
        }
    };

    private static boolean finiteReadTimeout(HelidonSocket socket) {
        try {
            Socket raw = (Socket) DELEGATE.get(socket);
            if (raw.getSoTimeout() == 0) {
                raw.setSoTimeout(Integer.MAX_VALUE);
            }
            return true;
        } catch (ReflectiveOperationException | java.io.IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "cannot watch client connection: " + e);
            return false;
        }
    }

    private static Field delegateField() {
        try {
            Field f = PlainSocket.class.getDeclaredField("delegate");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.log(Level.WARNING, "client hang-ups will not be noticed while a request waits: " + e);
            return null;
        }
    }
}
