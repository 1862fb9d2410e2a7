package dev.vllmrouter.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import dev.vllmrouter.common.Ticker;

/**
 * The HTTP/1.1 client to workers: blocking sockets on the caller's virtual thread, a keep-alive pool per worker,
 * and nothing between the router and the wire. The request target and headers are written exactly as given (one
 * write for head and small bodies), the response head is parsed from the connection's buffer, and the body is handed
 * out as it arrives. A general-purpose client (Helidon's WebClient was measured here) costs several times more CPU
 * per proxied request: per-request service chains, header re-validation, proxy look-ups, and a monitor thread
 * started every time a connection goes back to its pool.
 * <p>A request that fails on a pooled connection before the worker sent a single byte is sent again on a fresh
 * connection: the worker closed that idle connection (vLLM closes them after 5 s), so it never saw the request.
 * Nothing else is retried here.
 */
public final class UpstreamClient implements AutoCloseable {
    /** Idle connections are dropped before vLLM's 5 s keep-alive timeout closes them under us. */
    static final Duration MAX_IDLE = Duration.ofSeconds(4);
    private static final int MAX_IDLE_PER_WORKER = 1024;
    private static final int MAX_HEAD_BYTES = 64 * 1024;
    private static final int MAX_HEADERS = 256;

    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final ConnectionPool pool;
    private final Runnable evictIdle;
    private final ConcurrentHashMap<String, Origin> origins = new ConcurrentHashMap<>();

    /**
     * @param connectTimeout TCP (and TLS handshake) timeout
     * @param readTimeout    default longest silence on a read (response head or body)
     */
    public UpstreamClient(Duration connectTimeout, Duration readTimeout) {
        this(connectTimeout, readTimeout, Ticker.system());
    }

    UpstreamClient(Duration connectTimeout, Duration readTimeout, Ticker ticker) {
        this.connectTimeout = connectTimeout;
        this.readTimeout = readTimeout;
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
        while (true) {
            Connection c = pool.take(origin);
            boolean pooled = c != null;
            if (c == null) {
                try {
                    c = Connection.open(origin, connectTimeout);
                } catch (IOException e) {
                    throw new UpstreamException(UpstreamException.Kind.CONNECT,
                            "cannot connect to " + worker + ": " + e, e);
                }
            }
            if (cancellation != null) {
                cancellation.bind(c::close);
            }
            try {
                c.send(head, body, timeout);
                return readResponse(c, method);
            } catch (IOException | RuntimeException e) {
                c.close();
                if (cancellation != null && cancellation.cancelled()) {
                    throw new UpstreamException(UpstreamException.Kind.IO, "cancelled: the client left", e);
                }
                if (pooled && c.received() == 0 && !(e instanceof SocketTimeoutException)) {
                    continue; // stale keep-alive connection: the worker never saw this request
                }
                throw UpstreamException.classify(worker, e);
            }
        }
    }

    private UpstreamResponse readResponse(Connection c, String method) throws IOException {
        int status;
        WireHeaders headers;
        String version;
        do {
            String statusLine = c.readLine(8192);
            if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12 || statusLine.charAt(8) != ' ') {
                throw new IOException("malformed status line from worker: '" + abbreviate(statusLine) + "'");
            }
            version = statusLine.substring(0, 8);
            try {
                status = Integer.parseInt(statusLine.substring(9, 12));
            } catch (NumberFormatException e) {
                throw new IOException("malformed status line from worker: '" + abbreviate(statusLine) + "'");
            }
            headers = readHeaders(c);
        } while (status >= 100 && status < 200 && status != 101);

        boolean keepAlive = version.equals("HTTP/1.0")
                ? headers.hasToken("Connection", "keep-alive")
                : !headers.hasToken("Connection", "close");
        String te = headers.first("Transfer-Encoding");
        String cl = headers.first("Content-Length");
        boolean noBody = method.equals("HEAD") || status == 204 || status == 304;
        UpstreamResponse response;
        InputStream body;
        if (noBody) {
            response = new UpstreamResponse(status, headers, c, pool, keepAlive);
            body = BodyStreams.empty(response::bodyComplete);
        } else if (te != null && te.toLowerCase(java.util.Locale.ROOT).trim().endsWith("chunked")) {
            response = new UpstreamResponse(status, headers, c, pool, keepAlive);
            body = BodyStreams.chunked(c, response::bodyComplete);
        } else if (te == null && cl != null) {
            long length;
            try {
                length = Long.parseLong(cl.trim());
            } catch (NumberFormatException e) {
                throw new IOException("malformed Content-Length from worker: '" + cl + "'");
            }
            if (length < 0) {
                throw new IOException("negative Content-Length from worker");
            }
            response = new UpstreamResponse(status, headers, c, pool, keepAlive);
            body = BodyStreams.fixed(c, length, response::bodyComplete);
        } else {
            response = new UpstreamResponse(status, headers, c, pool, false);
            body = BodyStreams.untilClose(c);
        }
        response.body(body);
        return response;
    }

    private static WireHeaders readHeaders(Connection c) throws IOException {
        WireHeaders headers = new WireHeaders();
        int bytes = 0;
        while (true) {
            String line = c.readLine(MAX_HEAD_BYTES);
            if (line.isEmpty()) {
                return headers;
            }
            bytes += line.length() + 2;
            if (bytes > MAX_HEAD_BYTES || headers.size() >= MAX_HEADERS) {
                throw new IOException("response head from worker exceeds " + MAX_HEAD_BYTES + " bytes");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException("malformed header line from worker: '" + abbreviate(line) + "'");
            }
            headers.add(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
        }
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
                sb.append(ch == '\r' || ch == '\n' ? ' ' : ch); // never let a value end the head early
            }
            sb.append("\r\n");
        });
        if (body != null) {
            sb.append("Content-Length: ").append(body.length).append("\r\n");
        }
        sb.append("\r\n");
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    @Override
    public void close() {
        ReadWatchdog.SHARED.stopHousekeeping(evictIdle);
        pool.closeAll();
    }
}
