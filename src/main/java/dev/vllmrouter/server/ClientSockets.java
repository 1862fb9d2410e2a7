package dev.vllmrouter.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLSocket;

/**
 * Every client socket the router's listener accepted and has not closed yet, from {@code accept()} on
 * ({@link GuardedServerSocket}), so that:
 * <ul>
 * <li><b>the cap holds</b> ({@code --max-client-connections}): a socket accepted while the cap is reached is closed
 *     at once (a plain one gets a 503 first), on the accepting thread and without waiting for anything, so the
 *     listener never blocks and never runs out of descriptors because of idle clients;</li>
 * <li><b>a connection that never becomes a request is cut</b>: until Helidon hands it to the router's HTTP/1
 *     handling ({@link #claim}) — a TLS handshake, or a client that connects and sends nothing — it is timed from
 *     {@code accept()} by {@code --client-header-timeout-secs} ({@link #sweep}). Once claimed, its
 *     {@link ClientConnection} times it.</li>
 * </ul>
 * <p>Invariant: {@link #open()} counts the accepted sockets not yet seen closed; a socket leaves the table when a
 * sweep (or a full table) finds it closed, whoever closed it. The table is read without locks; at the cap a refusal
 * first drops the closed sockets, so the count it compares is exact.
 */
final class ClientSockets {
    private static final System.Logger LOG = System.getLogger(ClientSockets.class.getName());
    private static final long WARN_EVERY_NANOS = 10_000_000_000L;
    private static final String BUSY_BODY = "{\"error\":{\"message\":\"Too many client connections "
            + "(--max-client-connections)\",\"type\":\"ServiceUnavailableError\",\"param\":null,\"code\":503}}";
    private static final byte[] BUSY = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            + "Connection: close\r\nContent-Length: " + BUSY_BODY.length() + "\r\n\r\n" + BUSY_BODY)
            .getBytes(StandardCharsets.US_ASCII);

    /** One accepted socket: when, and whether the HTTP/1 handling took it over. */
    private static final class Accepted {
        final long at;
        volatile boolean claimed;
        volatile boolean cut;

        Accepted(long at) {
            this.at = at;
        }
    }

    private final Map<Socket, Accepted> sockets = new ConcurrentHashMap<>();
    private final int max;
    private final long headerLimitNanos;
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong headerTimeouts = new AtomicLong();
    private final AtomicLong lastWarning = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);
    private final AtomicLong refusedSinceWarning = new AtomicLong();

    /**
     * @param max              {@code --max-client-connections}
     * @param headerLimitNanos {@code --client-header-timeout-secs}
     */
    ClientSockets(int max, long headerLimitNanos) {
        this.max = max;
        this.headerLimitNanos = headerLimitNanos;
    }

    /**
     * Takes a socket just accepted, or refuses it when the cap is reached: then it is closed here (a plain socket
     * gets a 503 first: its send buffer is empty, so the write does not wait).
     *
     * @return whether the socket is to be served
     */
    boolean admit(Socket socket, long now) {
        if (sockets.size() >= max) {
            dropClosed();
            if (sockets.size() >= max) {
                refuse(socket, now);
                return false;
            }
        }
        sockets.put(socket, new Accepted(now));
        return true;
    }

    private void refuse(Socket socket, long now) {
        refused.incrementAndGet();
        refusedSinceWarning.incrementAndGet();
        try {
            if (!(socket instanceof SSLSocket)) {
                socket.getOutputStream().write(BUSY);
            }
        } catch (IOException | RuntimeException e) {
            // the client is gone already
        }
        try {
            socket.close();
        } catch (IOException e) {
            // nothing to free
        }
        long last = lastWarning.get();
        if (now - last >= WARN_EVERY_NANOS && lastWarning.compareAndSet(last, now)) {
            LOG.log(Level.WARNING, "{0} client connections are open (--max-client-connections); refused {1} "
                    + "new ones since the last warning", max, refusedSinceWarning.getAndSet(0));
        }
    }

    /**
     * The router's HTTP/1 handling took this socket over.
     *
     * @return when it was accepted ({@code now} if it is not in the table)
     */
    long claim(Socket socket, long now) {
        Accepted a = socket == null ? null : sockets.get(socket);
        if (a == null) {
            return now;
        }
        a.claimed = true;
        return a.at;
    }

    /** Drops the closed sockets and closes the unclaimed ones accepted longer ago than the header limit. */
    void sweep(long now) {
        for (Map.Entry<Socket, Accepted> e : sockets.entrySet()) {
            Socket socket = e.getKey();
            Accepted a = e.getValue();
            if (socket.isClosed()) {
                sockets.remove(socket, a);
            } else if (!a.claimed && !a.cut && now - a.at > headerLimitNanos) {
                a.cut = true;
                headerTimeouts.incrementAndGet();
                LOG.log(Level.DEBUG, "client {0}: no request head within --client-header-timeout-secs after "
                        + "connecting; closing", socket.getRemoteSocketAddress());
                // closing a TLS socket may wait for its handshake's lock: never on the sweeping thread
                Thread.ofVirtual().name("client-header-cut").start(() -> closeQuietly(socket));
            }
        }
    }

    private void dropClosed() {
        sockets.entrySet().removeIf(e -> e.getKey().isClosed());
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException | RuntimeException e) {
            // closed already
        }
    }

    /** Client sockets open now (accepted and not yet seen closed). */
    int open() {
        return sockets.size();
    }

    /** Sockets closed at once because the cap was reached, since start. */
    long refused() {
        return refused.get();
    }

    /** Sockets cut before their first request head was in, since start. */
    long headerTimeouts() {
        return headerTimeouts.get();
    }

    int max() {
        return max;
    }
}
