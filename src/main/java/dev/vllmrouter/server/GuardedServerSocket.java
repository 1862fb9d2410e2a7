package dev.vllmrouter.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import io.helidon.webserver.WebServer;

/**
 * A listener's bound server socket as Helidon's accept loop sees it, so that the loop survives what ends it in
 * Helidon 4.3.0: any exception from {@code accept()}, {@code EMFILE} ("Too many open files") included, makes
 * Helidon log "this server socket is terminating now" and close the listener for good, while the process and the
 * other listener stay up.
 * <ul>
 * <li><b>A failed accept is retried</b> every {@value #RETRY_MILLIS} ms until it succeeds (descriptors are free
 *     again) or the socket is closed (the server stops). Waiting is right: the pending connections stay in the
 *     kernel's backlog meanwhile, and the idle ones that took the descriptors are cut by their time limits. A
 *     warning is logged at most every 10 s.</li>
 * <li><b>The cap</b> of the client listener ({@link ClientSockets#admit}): a socket over it is closed at once and
 *     the loop accepts the next one.</li>
 * </ul>
 * <p>Helidon offers no hook for its server socket; {@link #install} swaps it into the listener by reflection on
 * {@code LoomServer.listeners} and {@code ServerListener.serverSocket} (Helidon 4.3.0; the loop reads the field
 * before each accept), then makes one connection to itself so that the accept Helidon is already blocked in
 * returns and the next one is this socket's. Should the fields not be found, a warning is logged and the listener
 * runs as Helidon's alone.
 */
final class GuardedServerSocket extends ServerSocket {
    private static final System.Logger LOG = System.getLogger(GuardedServerSocket.class.getName());
    static final long RETRY_MILLIS = 50;
    private static final long WARN_EVERY_NANOS = 10_000_000_000L;

    private final ServerSocket delegate;
    private final String name;
    private final ClientSockets sockets;
    private final AtomicLong lastWarning = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);

    /**
     * @param sockets the cap and table of client sockets, or {@code null} to accept without a cap
     */
    private GuardedServerSocket(ServerSocket delegate, String name, ClientSockets sockets) throws IOException {
        this.delegate = delegate;
        this.name = name;
        this.sockets = sockets;
    }

    /**
     * Puts a guarded socket in place of the server socket of {@code server}'s listener {@code listener}.
     *
     * @return whether it is in place
     */
    static boolean install(WebServer server, String listener, ClientSockets sockets) {
        Object serverListener;
        Field socketField;
        ServerSocket bound;
        try {
            Field listeners = server.getClass().getDeclaredField("listeners");
            listeners.setAccessible(true);
            serverListener = ((Map<?, ?>) listeners.get(server)).get(listener);
            socketField = serverListener.getClass().getDeclaredField("serverSocket");
            socketField.setAccessible(true);
            bound = (ServerSocket) socketField.get(serverListener);
            socketField.set(serverListener, new GuardedServerSocket(bound, listener, sockets));
        } catch (ReflectiveOperationException | IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "listener " + listener + ": cannot guard its accept loop; running out of file "
                    + "descriptors will stop it, and no connection cap applies: " + e);
            return false;
        }
        // the accept Helidon is blocked in is the bound socket's: one connection ends it
        InetAddress address = bound.getInetAddress();
        if (address == null || address.isAnyLocalAddress()) {
            address = InetAddress.getLoopbackAddress();
        }
        try (Socket kick = new Socket()) {
            kick.connect(new InetSocketAddress(address, bound.getLocalPort()), 5000);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "listener " + listener + ": connecting to itself failed: " + e);
        }
        return true;
    }

    @Override
    public Socket accept() throws IOException {
        while (true) {
            Socket socket;
            try {
                socket = delegate.accept();
            } catch (IOException e) {
                if (delegate.isClosed()) {
                    throw e;
                }
                warn(e);
                pause();
                continue;
            }
            if (sockets == null || sockets.admit(socket, System.nanoTime())) {
                return socket;
            }
        }
    }

    private void warn(IOException e) {
        long now = System.nanoTime();
        long last = lastWarning.get();
        if (now - last >= WARN_EVERY_NANOS && lastWarning.compareAndSet(last, now)) {
            LOG.log(Level.WARNING, "listener {0}: accepting a connection failed ({1}); retrying every {2} ms",
                    name, e.getMessage(), RETRY_MILLIS);
        }
    }

    private void pause() throws SocketException {
        try {
            Thread.sleep(RETRY_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // Helidon interrupts the loop when it stops; its loop ends quietly on this message
            throw new SocketException("Socket closed");
        }
        if (delegate.isClosed()) {
            throw new SocketException("Socket closed");
        }
    }

    @Override
    public void close() throws IOException {
        delegate.close();
        super.close();
    }

    @Override
    public boolean isClosed() {
        return delegate.isClosed();
    }

    @Override
    public boolean isBound() {
        return delegate.isBound();
    }

    @Override
    public InetAddress getInetAddress() {
        return delegate.getInetAddress();
    }

    @Override
    public int getLocalPort() {
        return delegate.getLocalPort();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return delegate.getLocalSocketAddress();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
