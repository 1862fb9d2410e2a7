package dev.vllmrouter.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import javax.net.ssl.SSLSocketFactory;

import dev.vllmrouter.common.Ticker;

/**
 * The HTTP/1.1 client to workers: blocking sockets on the caller's virtual thread, a keep-alive pool per worker,
 * and nothing between the router and the wire. The request target and headers are written exactly as given (one
 * write for head and small bodies), the response head is parsed from the connection's buffer and checked strictly
 * ({@link ResponseHead}), and the body is handed out as it arrives. A general-purpose client (Helidon's WebClient
 * was measured here) costs several times more CPU per proxied request: per-request service chains, header
 * re-validation, proxy look-ups, and a monitor thread started every time a connection goes back to its pool.
 * <p>Resends (RFC 9110 §9.2.2): a pooled connection is used only after a read that does not wait found it still
 * open and clean ({@link Connection#stillClean()}), so a request is never written to a connection the worker had
 * already closed. A request is sent again, once and on a new connection, only when it provably never reached the
 * worker whole (writing it failed), or when its method is idempotent and a reused connection broke before a single
 * byte of the answer (the worker closed it at that very moment). A non-idempotent request that may have reached
 * the worker is never resent here: the failure goes to the caller ({@link UpstreamException.Kind#IO}).
 */
public final class UpstreamClient implements AutoCloseable {
    /** Idle connections are dropped before vLLM's 5 s keep-alive timeout closes them under us. */
    static final Duration MAX_IDLE = Duration.ofSeconds(4);
    private static final int MAX_IDLE_PER_WORKER = 1024;

    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final SSLSocketFactory tls;
    private final ConnectionPool pool;
    private final Runnable evictIdle;
    private final ConcurrentHashMap<String, Origin> origins = new ConcurrentHashMap<>();

    /**
     * @param connectTimeout TCP (and TLS handshake) timeout
     * @param readTimeout    default longest silence on a read (response head or body)
     */
    public UpstreamClient(Duration connectTimeout, Duration readTimeout) {
        this(connectTimeout, readTimeout, null);
    }

    /**
     * @param tls TLS for {@code https} workers ({@link WorkerTls}), or {@code null} for the JVM's default trust
     */
    public UpstreamClient(Duration connectTimeout, Duration readTimeout, SSLSocketFactory tls) {
        this(connectTimeout, readTimeout, tls, Ticker.system());
    }

    UpstreamClient(Duration connectTimeout, Duration readTimeout, SSLSocketFactory tls, Ticker ticker) {
        this.connectTimeout = connectTimeout;
        this.readTimeout = readTimeout;
        this.tls = tls;
        this.pool = new ConnectionPool(ticker, MAX_IDLE.toNanos(), MAX_IDLE_PER_WORKER);
        this.evictIdle = pool::evictIdle;
        ReadWatchdog.SHARED.housekeeping(evictIdle);
    }

    /**
     * Sends one request and returns once the response head is in.
     *
     * @param worker      the worker's id, for messages
     * @param method      the HTTP method
     * @param baseUrl     the worker's base URL ({@code http(s)://host:port[/prefix]})
     * @param rawTarget   path and query exactly as they go on the request line (percent-encoding kept)
     * @param headers     writes the request's header fields (not Host or Content-Length, which are set here)
     * @param body        the body bytes, or {@code null} for a request without body
     * @param readTimeout the read timeout of this call, or {@code null} for the default
     * @throws UpstreamException classified failure
     */
    public UpstreamResponse send(String worker, String method, String baseUrl, String rawTarget,
                                 Consumer<HeaderSink> headers, byte[] body, Duration readTimeout) {
        return send(worker, method, baseUrl, rawTarget, headers, body, readTimeout, null);
    }

    /**
     * As {@link #send(String, String, String, String, Consumer, byte[], Duration)}, abortable through
     * {@code cancellation} (may be {@code null}) until the response head is in.
     */
    public UpstreamResponse send(String worker, String method, String baseUrl, String rawTarget,
                                 Consumer<HeaderSink> headers, byte[] body, Duration readTimeout,
                                 Cancellation cancellation) {
        Origin origin = origins.computeIfAbsent(baseUrl, Origin::parse);
        byte[] head = head(method, origin, rawTarget, headers, body);
        Duration timeout = readTimeout == null ? this.readTimeout : readTimeout;
        boolean resent = false;
        while (true) {
            Connection c = resent ? null : pool.take(origin);
            boolean pooled = c != null;
            if (c == null) {
                try {
                    c = Connection.open(origin, connectTimeout, ReadWatchdog.SHARED, tls);
                } catch (IOException e) {
                    throw new UpstreamException(UpstreamException.Kind.CONNECT,
                            "cannot connect to " + worker + ": " + e, e);
                }
            }
            if (cancellation != null) {
                cancellation.bind(c::close);
            }
            boolean written = false;
            try {
                c.send(head, body, timeout);
                written = true;
                ResponseHead response = ResponseHead.read(c, method);
                return response(c, response);
            } catch (IOException | RuntimeException e) {
                c.close();
                if (cancellation != null && cancellation.cancelled()) {
                    throw new UpstreamException(UpstreamException.Kind.IO, "cancelled: the client left", e);
                }
                boolean timedOut = e instanceof SocketTimeoutException;
                if (!resent && pooled && !timedOut
                        && (!written || (c.received() == 0 && idempotent(method)))) {
                    resent = true; // the worker never had this request whole, or may safely get it twice
                    continue;
                }
                if (!written && !timedOut) {
                    throw new UpstreamException(UpstreamException.Kind.SEND, "connection to " + worker
                            + " broke while the request was sent: " + e, e);
                }
                throw UpstreamException.classify(worker, e);
            }
        }
    }

    /** Bytes that arrived on idle connections to {@code baseUrl} and were not read (for tests). */
    int waitingOnIdle(String baseUrl) {
        return pool.idle(Origin.parse(baseUrl)).stream().mapToInt(Connection::waitingOnSocket).sum();
    }

    /** Idle connections to {@code baseUrl} that still look usable: not closed by the worker (for tests). */
    long idleStillClean(String baseUrl) {
        return pool.idle(Origin.parse(baseUrl)).stream().filter(Connection::stillClean).count();
    }

    /** RFC 9110 §9.2.2. */
    static boolean idempotent(String method) {
        return switch (method) {
            case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" -> true;
            default -> false;
        };
    }

    private UpstreamResponse response(Connection c, ResponseHead head) {
        UpstreamResponse response = new UpstreamResponse(head.status(), head.headers(), c, pool, head.keepAlive(),
                head.length());
        InputStream body;
        if (head.length() == ResponseHead.CHUNKED) {
            body = BodyStreams.chunked(c, response::bodyComplete);
        } else if (head.length() == ResponseHead.UNTIL_CLOSE) {
            body = BodyStreams.untilClose(c);
        } else {
            body = BodyStreams.fixed(c, head.length(), response::bodyComplete);
        }
        response.body(body);
        return response;
    }

    private static byte[] head(String method, Origin origin, String rawTarget, Consumer<HeaderSink> headers,
                               byte[] body) {
        StringBuilder sb = new StringBuilder(256 + rawTarget.length());
        sb.append(method).append(' ').append(origin.pathPrefix()).append(rawTarget).append(" HTTP/1.1\r\n")
                .append("Host: ").append(origin.hostHeader()).append("\r\n");
        headers.accept((name, value) -> {
            sb.append(name).append(": ");
            for (int i = 0; i < value.length(); i++) {
                char ch = value.charAt(i);
                sb.append(ch == '\r' || ch == '\n' || ch == 0 ? ' ' : ch); // never let a value end the head early
            }
            sb.append("\r\n");
        });
        if (body != null) {
            sb.append("Content-Length: ").append(body.length).append("\r\n");
        }
        sb.append("\r\n");
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        ReadWatchdog.SHARED.stopHousekeeping(evictIdle);
        pool.closeAll();
    }
}
