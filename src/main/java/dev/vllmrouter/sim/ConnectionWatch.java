package dev.vllmrouter.sim;

import io.helidon.http.Headers;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;

/**
 * Detects that a client closed its connection while a request is held without writing anything (the
 * {@code hang} fault). A blocked handler never touches the socket, so it cannot see the peer go away by itself.
 *
 * <p>How: Helidon calls this receive-listener with the connection's {@link ConnectionContext} on the
 * connection's own virtual thread just before it routes each HTTP/1 request; we remember it in a thread-local.
 * {@link #watchCurrent(Runnable)} then starts one virtual thread that blocks reading the connection
 * ({@code dataReader().ensureAvailable()}): end of stream or a socket error means the client is gone.
 *
 * <p>Cost and constraint: the watcher keeps a read pending on the connection, so after a watched request is
 * answered the connection must be closed (the caller sends {@code Connection: close} and then closes it);
 * otherwise the watcher and Helidon would read the next request concurrently. Only hung requests are watched,
 * so the normal (benchmark) path keeps its keep-alive connections and starts no extra thread.
 */
final class ConnectionWatch implements Http1ConnectionListener {
    private final ThreadLocal<ConnectionContext> current = new ThreadLocal<>();

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        current.set(ctx);
    }

    /**
     * Starts watching the connection of the request handled on the calling thread.
     *
     * @param onGone run once (on the watcher thread) when the client has closed the connection
     * @return false when the connection is unknown (then nothing is watched)
     */
    boolean watchCurrent(Runnable onGone) {
        ConnectionContext ctx = current.get();
        if (ctx == null) {
            return false;
        }
        Thread.ofVirtual().name("sim-disconnect-watch-" + ctx.childSocketId()).start(() -> {
            try {
                ctx.dataReader().ensureAvailable();
                // the client sent more bytes (pipelining): it is still there; stop watching
            } catch (RuntimeException e) {
                onGone.run();
            }
        });
        return true;
    }
}
