package dev.vllmrouter.server;

import java.io.OutputStream;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerResponse;

import dev.vllmrouter.proxy.ClientSink;
import dev.vllmrouter.tracing.RequestSpan;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.worker.Worker;

/** {@link ClientSink} over Helidon's {@link ServerResponse}; remembers the status for metrics. */
final class HelidonSink implements ClientSink {
    private final ServerResponse res;
    private final ClientConnections connections;
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

    HelidonSink(ServerResponse res, ClientConnections connections) {
        this.res = res;
        this.connections = connections;
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
        res.headers().add(HeaderValues.create(HeaderNames.create(name), value));
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

    /** Ends a streamed response; a client that left meanwhile is not an error. */
    void finish() {
        if (stream != null && !aborted) { // an aborted answer must not get its proper end
            try {
                stream.close();
            } catch (Exception ignored) {
                // client gone: nothing left to tell it
            }
        }
    }
}
