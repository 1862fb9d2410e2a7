package dev.vllmrouter.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import dev.vllmrouter.admission.AdmissionGate;
import dev.vllmrouter.auth.Authenticator;
import dev.vllmrouter.common.LogLimiter;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.metrics.ErrorTypes;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.proxy.RequestId;
import dev.vllmrouter.tracing.RequestSpan;

/**
 * The frame every routed request runs in: resolves the request id (returned as {@code x-request-id} on every answer,
 * errors included), maps {@link RouterException}s and unexpected failures to OpenAI error JSON when nothing was sent
 * yet, ends streamed answers, and records the request in metrics exactly once.
 */
final class Endpoint {
    private static final System.Logger LOG = System.getLogger(Endpoint.class.getName());
    private static final HeaderName X_REQUEST_ID = HeaderNames.create("x-request-id");
    /** Recorded (in metrics and logs) for a request whose client left before it could be answered, as nginx does. */
    static final int CLIENT_CLOSED_REQUEST = 499;

    /** The body of one endpoint. */
    @FunctionalInterface
    interface Body {
        void handle(ServerRequest req, HelidonSink sink, RequestId requestId);
    }

    private final RouterContext ctx;
    private final Ticker ticker;
    private final boolean proxied;
    private final Authenticator.Access access;
    private final RequestLogger requestLog;
    private final RequestBodies bodies;
    /** The router's own 5xx answers: a dead worker or fleet fails every request the same way. */
    private final LogLimiter failures;

    /**
     * @param access  which keys these routes need
     * @param proxied whether answers of these routes may be a worker's own (its error statuses count as its)
     */
    Endpoint(RouterContext ctx, Authenticator.Access access, boolean proxied) {
        this.ctx = ctx;
        this.ticker = ctx.ticker();
        this.access = access;
        this.proxied = proxied;
        this.requestLog = new RequestLogger(ctx.config().requestLog(), ctx.config().logJson());
        this.bodies = new RequestBodies(RequestBodies.SHARED, ctx.config().maxPayloadSize());
        this.failures = LogLimiter.perMinute(LOG, ctx.ticker());
    }

    private static final io.helidon.http.HeaderName SEC_FETCH_SITE = HeaderNames.create("Sec-Fetch-Site");

    void run(String route, ServerRequest req, ServerResponse res, Body body) {
        long start = ticker.nanos();
        HelidonSink sink = new HelidonSink(res, ctx.connections(), ticker);
        RequestId requestId = ctx.requestIds().resolve(req.headers(), req.path().rawPath());
        res.header(HeaderValues.create(X_REQUEST_ID, requestId.value()));
        RequestSpan span = ctx.tracing().start(route, req.prologue().method().text(), req.path().rawPath(),
                name -> req.headers().first(HeaderNames.create(name)).orElse(null));
        span.requestId(requestId.value());
        sink.span(span);
        ctx.drain().enter();
        CloseConnectionException aborted = null;
        if (access == Authenticator.Access.PUBLIC && req.content().hasEntity()) {
            // a keyless route never reads a body: the answer closes the connection instead of draining it
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
        try {
            if (ctx.auth().enabled() && !ctx.auth().allows(access,
                    req.headers().first(HeaderNames.AUTHORIZATION).orElse(null))) {
                res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
                throw new RouterException(ErrorKind.UNAUTHORIZED, access == Authenticator.Access.ADMIN
                        ? "A valid admin API key is required: send 'Authorization: Bearer <key>'"
                        : "A valid API key is required: send 'Authorization: Bearer <key>'");
            }
            if (ctx.auth().forgeable(access, req.prologue().method().text(),
                    req.headers().first(HeaderNames.ORIGIN).orElse(null),
                    req.headers().first(SEC_FETCH_SITE).orElse(null))) {
                throw new RouterException(ErrorKind.FORBIDDEN, "Admin requests from a browser are refused while no "
                        + "--admin-api-key is set (a web page could forge them); send them without an Origin header, "
                        + "or set --admin-api-key");
            }
            body.handle(req, sink, requestId);
        } catch (RouterException e) {
            fail(sink, req, res, e, requestId);
        } catch (ClientLeft e) {
            // recorded as 499; nothing to send
        } catch (CloseConnectionException e) {
            aborted = e; // HelidonSink.abort(): the worker cut the answer; rethrown below so Helidon closes
        } catch (RuntimeException e) {
            if (sink.committed()) {
                // the answer was going out: almost always the client hung up; nothing left to tell it
                LOG.log(Level.DEBUG, "request {0}: answer cut: {1}", requestId, e.toString());
            } else {
                LOG.log(Level.ERROR, "request " + requestId + " on " + route + " failed", e);
                fail(sink, req, res, new RouterException(ErrorKind.INTERNAL, "Internal router error", e), requestId);
            }
        } finally {
            bodies.budget().release(sink.takeBodyReserved());
            sink.finish();
            int status = sink.statusCode();
            String errorType = sink.errorType();
            if (errorType == null && status >= 400) {
                errorType = proxied ? ErrorTypes.ofWorkerStatus(status) : ErrorTypes.ofRouterStatus(status);
            }
            long end = ticker.nanos();
            long head = sink.streamedAt() == 0 ? end - start : Math.max(0, sink.streamedAt() - start);
            ctx.metrics().requestDone(route, status, errorType, sink.pd(), end - start, head);
            requestLog.log(req.prologue().method().text(), route, requestId.value(), sink, status, errorType, start,
                    end);
            span.end(status);
            ctx.drain().exit();
        }
        if (aborted != null) {
            throw aborted;
        }
        if (sink.gone() && !sink.committed()) {
            // nothing to answer and no one to answer it to: end the connection instead of Helidon's own 500
            throw new CloseConnectionException("the client left before its answer");
        }
    }

    /**
     * Admits a generation request ({@code --max-concurrent-requests}, {@code --queue-size}), waiting in the queue if
     * needed. The caller closes the permit when the answer is over.
     *
     * @return the permit, or {@code null} when the client left while waiting (status 499 recorded, nothing to send)
     * @throws RouterException 503 while draining, 429 (with {@code Retry-After}) when the queue is full, 408 after
     *                         {@code --queue-timeout-secs} in the queue
     */
    AdmissionGate.Permit admit(HelidonSink sink) {
        if (ctx.drain().draining()) {
            ctx.metrics().admissionRejected("draining");
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "The router is shutting down");
        }
        try {
            return ctx.admission().enter(sink::onHangUp);
        } catch (AdmissionGate.RefusedException e) {
            ctx.metrics().admissionRejected(e.refusal().name().toLowerCase(java.util.Locale.ROOT));
            return switch (e.refusal()) {
                case QUEUE_FULL -> throw new RouterException(OpenAiError.of(ErrorKind.TOO_MANY_REQUESTS,
                        "Too many requests: " + ctx.admission().limit() + " in flight and the queue of "
                                + ctx.config().admission().queueSize() + " is full; retry after "
                                + e.retryAfterSeconds() + " s"), null, e.retryAfterSeconds());
                case QUEUE_TIMEOUT -> throw new RouterException(ErrorKind.REQUEST_TIMEOUT,
                        "The request waited " + ctx.config().admission().queueTimeout().toSeconds()
                                + " s for one of the " + ctx.admission().limit()
                                + " slots (--max-concurrent-requests) and was not admitted");
                case CLIENT_GONE -> {
                    sink.clientGone();
                    yield null;
                }
            };
        }
    }

    /**
     * Answers {@code e} as OpenAI error JSON when nothing was sent yet. An error about a worker, or the router's own
     * failure, tells the client a generic message with its request id; the log gets the detail (one line per kind of
     * failure and minute, see {@link LogLimiter}). A body left unread closes the connection after the answer, so a
     * refused upload is not drained. A client that left meanwhile ends the request quietly.
     */
    private void fail(HelidonSink sink, ServerRequest req, ServerResponse res, RouterException e,
                             RequestId requestId) {
        OpenAiError error = e.error();
        sink.errorType(ErrorTypes.ofRouterStatus(error.status()));
        String detail = e.detail() != null ? e.detail() : error.message();
        if (error.status() >= 500) {
            sink.span().error(detail);
        }
        if (sink.committed()) {
            failures.log(Level.WARNING, "after start " + error.status() + " " + detail,
                    () -> "request " + requestId + ": failed after the answer started: " + detail);
            return;
        }
        int status = error.status();
        if (status >= 500) {
            failures.log(Level.WARNING, status + " " + detail, () -> "request " + requestId + ": " + status + " "
                    + detail);
        }
        if (e.detail() != null || error.kind() == ErrorKind.INTERNAL) {
            error = new OpenAiError(error.kind(), error.message() + " (request id " + requestId.value()
                    + "; the router's log has the details)", error.param());
        }
        if (req.content().hasEntity() && !req.content().consumed()) {
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
        sink.status(error.status());
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        if (e.retryAfterSeconds() > 0) {
            res.header(HeaderNames.RETRY_AFTER, String.valueOf(e.retryAfterSeconds()));
        }
        try {
            sink.send(error.toJsonBytes());
        } catch (RuntimeException gone) { // the client left before its error could reach it
            sink.clientGone();
            LOG.log(Level.DEBUG, "request {0}: the client left before its error: {1}", requestId, gone.toString());
            throw new CloseConnectionException("the client left before its error could be sent");
        }
    }

    /** Sends a small JSON body with {@code status}. */
    static void json(HelidonSink sink, ServerResponse res, int status, String json) {
        sink.status(status);
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        sink.send(json.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends a small plain-text body with {@code status}. */
    static void text(HelidonSink sink, ServerResponse res, int status, String text) {
        sink.status(status);
        res.headers().contentType(MediaTypes.TEXT_PLAIN);
        sink.send(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads the request body within {@code --max-payload-size} and the shared budget of request bodies
     * ({@link RequestBodies}): 413 over either limit, 503 with {@code Retry-After} while the budget is full, 408 when
     * the body stalls longer than {@code --client-body-timeout-secs} between two reads. A refused body is left
     * unread and the connection closes after the answer. A client that leaves mid-body ends the request quietly
     * (499, nothing sent). The bytes stay reserved until the request is over.
     *
     * @return the bytes, or {@code null} when the request has no body
     */
    byte[] readBody(ServerRequest req, HelidonSink sink) {
        if (!req.content().hasEntity()) {
            return null;
        }
        long[] reserved = {0};
        Duration pause = ctx.config().clientBodyTimeout();
        try (ClientConnections.ReadBound bound = ctx.connections().readTimeout(pause);
             InputStream in = new PacedBody(req.content().inputStream(), bound,
                     new BodyPace(ticker.nanos(), pause.toNanos(), ctx.config().clientListener().bodyMinRate()),
                     ticker)) {
            return bodies.read(in, req.headers().contentLength().orElse(-1), reserved);
        } catch (RouterException e) {
            // the rest of the body may still come: this connection cannot carry another request
            sink.header("Connection", "close");
            throw e;
        } catch (IOException | RuntimeException e) { // Helidon's ServerConnectionException among them
            sink.header("Connection", "close");
            if (e instanceof PacedBody.TooSlow) {
                throw new RouterException(ErrorKind.REQUEST_TIMEOUT, "The request body arrived too slowly "
                        + "(--client-body-min-rate)");
            }
            if (PacedBody.timedOut(e)) {
                throw new RouterException(ErrorKind.REQUEST_TIMEOUT, "The request body did not arrive in time "
                        + "(--client-body-timeout-secs)");
            }
            if (connectionBroke(e)) {
                sink.clientGone();
                LOG.log(Level.DEBUG, "the client left while sending its body: {0}", e.toString());
                throw new ClientLeft();
            }
            throw new RouterException(ErrorKind.BAD_REQUEST, "Could not read the request body: " + e.getMessage());
        } finally {
            sink.bodyReserved(reserved[0]);
        }
    }

    /** The client's connection ended or failed mid-body (not a malformed body, which Helidon reports otherwise). */
    private static boolean connectionBroke(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof IOException || c instanceof io.helidon.common.buffers.DataReader
                    .InsufficientDataAvailableException) {
                return true;
            }
        }
        return false;
    }

    /** The client left before its request could be answered: nothing is sent (see {@link #run}). */
    private static final class ClientLeft extends RuntimeException {
        ClientLeft() {
            super("the client left", null, false, false);
        }
    }

    static Status status(int code) {
        return Status.create(code);
    }
}
