package dev.vllmrouter.server;

import java.io.OutputStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;

import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerResponse;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.metrics.ErrorTypes;
import dev.vllmrouter.proxy.ClientSink;
import dev.vllmrouter.tracing.RequestSpan;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.worker.Worker;

/** {@link ClientSink} over Helidon's {@link ServerResponse}; remembers the status for metrics. */
final class HelidonSink implements ClientSink {
    private final ServerResponse res;
    private final ClientConnections connections;
    private final Ticker ticker;
    private boolean gone;
    private int status = 200;
    private OutputStream stream;
    private boolean committed;
    private boolean aborted;
    private String errorType;
    private boolean pd;
    private StringBuilder workers;
    private int attempts;
    private long firstTokenAt;
    private long streamedAt;
    private String model;
    private RequestSpan span = RequestSpan.NOOP;
    private UpstreamSpan upstream = UpstreamSpan.NOOP;
    private long bodyReserved;

    HelidonSink(ServerResponse res, ClientConnections connections, Ticker ticker) {
        this.res = res;
        this.connections = connections;
        this.ticker = ticker;
    }

    @Override
    public AutoCloseable onHangUp(Runnable action) {
        return connections.watch(action);
    }

    @Override
    public void status(int status) {
        this.status = status;
        res.status(Status.create(status));
    }

    @Override
    public void header(String name, String value) {
        HeaderName n = HeaderNames.create(name);
        res.headers().add(isAscii(value) ? HeaderValues.create(n, value) : latin1(n, value));
    }

    private static boolean isAscii(String value) {
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) > 0x7f) {
                return false;
            }
        }
        return true;
    }

    /**
     * A header whose value goes out as the bytes it came as: a worker's header bytes over 0x7F (obs-text, RFC 9110
     * section 5.5) arrive here as ISO-8859-1 chars, and Helidon writes values as US-ASCII, which would turn each of
     * them into {@code ?}. Helidon's own header for everything but the bytes; rare, so a proxy is fine.
     */
    private static Header latin1(HeaderName name, String value) {
        Header plain = HeaderValues.create(name, value);
        byte[] bytes = value.getBytes(StandardCharsets.ISO_8859_1);
        return (Header) Proxy.newProxyInstance(Header.class.getClassLoader(), new Class<?>[] {Header.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("valueBytes") && method.getParameterCount() == 0) {
                        return bytes.clone();
                    }
                    if (method.getName().equals("writeHttp1Header")) {
                        return InvocationHandler.invokeDefault(proxy, method, args); // calls valueBytes() above
                    }
                    try {
                        return method.invoke(plain, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Override
    public void deadline(long deadline) {
        connections.writeDeadline(System.nanoTime() + (deadline - ticker.nanos()));
    }

    @Override
    public void clientGone() {
        gone = true;
        status = Endpoint.CLIENT_CLOSED_REQUEST;
        errorType = ErrorTypes.CLIENT_CLOSED;
    }

    /** Records bytes of the request body reserved in {@link RequestBodies}' budget (released by {@link Endpoint}). */
    void bodyReserved(long bytes) {
        bodyReserved += bytes;
    }

    /** The reserved body bytes, once: later calls return 0. */
    long takeBodyReserved() {
        long bytes = bodyReserved;
        bodyReserved = 0;
        return bytes;
    }

    /** Whether the client left before an answer (see {@link #clientGone()}). */
    boolean gone() {
        return gone;
    }

    @Override
    public void send(byte[] body) {
        committed = true;
        res.send(body);
    }

    @Override
    public OutputStream stream() {
        committed = true;
        if (streamedAt == 0) {
            streamedAt = System.nanoTime();
        }
        stream = res.outputStream();
        return stream;
    }

    /** The answer was cut: Helidon closes the connection, writing no end of the body (see {@link Endpoint}). */
    @Override
    public void abort() {
        aborted = true;
        throw new CloseConnectionException("answer cut short by the worker: closing the client connection");
    }

    @Override
    public boolean committed() {
        return committed || res.isSent();
    }

    int statusCode() {
        return status;
    }

    @Override
    public UpstreamSpan attempt(Worker worker, int attempt, String phase) {
        if (workers == null) {
            workers = new StringBuilder(worker.id());
        } else {
            workers.append(',').append(worker.id());
        }
        attempts++;
        upstream = span.attempt(worker.id(), worker.baseUrl(), attempt, phase);
        return upstream;
    }

    @Override
    public void firstToken() {
        if (firstTokenAt == 0) {
            firstTokenAt = System.nanoTime();
        }
        upstream.firstToken();
    }

    /** The request's trace span ({@link RequestSpan#NOOP} when not traced). */
    RequestSpan span() {
        return span;
    }

    void span(RequestSpan span) {
        this.span = span;
    }

    /** The workers the request's attempts went to, comma-separated, or {@code null}. */
    String workers() {
        return workers == null ? null : workers.toString();
    }

    int attempts() {
        return attempts;
    }

    /** {@link System#nanoTime()} when a streamed answer's head went out, or 0 (not streamed). */
    long streamedAt() {
        return streamedAt;
    }

    /** {@link System#nanoTime()} when the first events of a stream went out, or 0. */
    long firstTokenAt() {
        return firstTokenAt;
    }

    void model(String model) {
        this.model = model;
        span.model(model);
    }

    String model() {
        return model;
    }

    /** Marks the answer as the router's own error of this type (for metrics). */
    void errorType(String type) {
        this.errorType = type;
    }

    String errorType() {
        return errorType;
    }

    /** Marks the request as one that runs both prefill/decode stages (for metrics). */
    void pd(boolean pd) {
        this.pd = pd;
    }

    boolean pd() {
        return pd;
    }

    /** Ends a streamed response; a client that left meanwhile is not an error. Lifts the write deadline. */
    void finish() {
        connections.writeDeadline(0);
        if (stream != null && !aborted) { // an aborted answer must not get its proper end
            try {
                stream.close();
            } catch (Exception ignored) {
                // client gone: nothing left to tell it
            }
        }
    }
}
