package dev.vllmrouter.server;

import java.lang.System.Logger.Level;
import java.lang.reflect.Field;
import java.net.Socket;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PlainSocket;
import io.helidon.http.Headers;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;

/**
 * Notices a client closing its connection while its request is in a stage that writes nothing to it (a prefill).
 * Helidon calls this listener with each HTTP/1 request's {@link ConnectionContext} on the connection's own thread
 * just before routing, which the handler on the same thread then finds here. {@link #watch} puts the connection's
 * socket in Helidon's idle mode — a monitor thread keeps one read pending, so a FIN from the client marks the socket
 * closed, while a byte the client sends (its next request) is kept for Helidon — and checks it every
 * {@value #CHECK_MILLIS} ms. The next read by Helidon ends the idle mode by itself.
 * <p>Helidon's idle monitor reads in 101 ms slices and gives up after the socket's read timeout, which on server
 * connections is 0 (none) — it would then report the socket closed after one slice. So the accepted socket's timeout
 * is first set to {@link Integer#MAX_VALUE} ms (still "none" in practice). Helidon offers no API for the raw socket;
 * it is reached by reflection on {@link PlainSocket} (Helidon 4.3.0). Should that fail, watching is disabled (logged
 * once) and requests are served as before.
 */
public final class ClientConnections implements Http1ConnectionListener {
    private static final System.Logger LOG = System.getLogger(ClientConnections.class.getName());
    static final long CHECK_MILLIS = 100;
    private static final Field DELEGATE = delegateField();

    private final ThreadLocal<ConnectionContext> current = new ThreadLocal<>();
    private final ScheduledExecutorService scheduler;

    ClientConnections(ScheduledExecutorService scheduler) {
        this.scheduler = scheduler;
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        current.set(ctx);
    }

    /** Watches the connection of the request handled on the calling thread until the handle is closed. */
    AutoCloseable watch(Runnable onGone) {
        ConnectionContext ctx = current.get();
        if (ctx == null || DELEGATE == null) {
            return () -> { };
        }
        HelidonSocket socket = ctx.serverSocket();
        if (!finiteReadTimeout(socket)) {
            return () -> { };
        }
        socket.idle();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<ScheduledFuture<?>> task = new AtomicReference<>();
        task.set(scheduler.scheduleAtFixedRate(() -> {
            if (done.get()) {
                cancel(task);
            } else if (!socket.isConnected() && done.compareAndSet(false, true)) {
                cancel(task);
                onGone.run();
            }
        }, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS));
        return () -> {
            done.set(true);
            cancel(task);
        };
    }

    /**
     * Bounds every read of the calling request's connection by {@code timeout} until the handle is closed (then the
     * previous timeout is back). Does nothing when the socket cannot be reached.
     */
    /** Undoes a setting; closing cannot fail. */
    interface Restore extends AutoCloseable {
        @Override
        void close();
    }

    Restore readTimeout(java.time.Duration timeout) {
        ConnectionContext ctx = current.get();
        if (ctx == null || DELEGATE == null || !(ctx.serverSocket() instanceof PlainSocket plain)) {
            return () -> { };
        }
        try {
            Socket raw = (Socket) DELEGATE.get(plain);
            int before = raw.getSoTimeout();
            raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE - 1, Math.max(1, timeout.toMillis())));
            return () -> {
                try {
                    raw.setSoTimeout(before);
                } catch (java.io.IOException e) {
                    // the socket is closed: nothing to restore
                }
            };
        } catch (ReflectiveOperationException | java.io.IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "cannot bound client reads: " + e);
            return () -> { };
        }
    }

    private static boolean finiteReadTimeout(HelidonSocket socket) {
        if (!(socket instanceof PlainSocket)) {
            return false;
        }
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
            LOG.log(Level.WARNING, "client hang-ups during a prefill will not be noticed: " + e);
            return null;
        }
    }

    private static void cancel(AtomicReference<ScheduledFuture<?>> task) {
        ScheduledFuture<?> f = task.get();
        if (f != null) {
            f.cancel(false);
        }
    }
}
