package dev.vllmrouter.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

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
            fail(sink, res, e, requestId);
        } catch (CloseConnectionException e) {
            aborted = e; // HelidonSink.abort(): the worker cut the answer; rethrown below so Helidon closes
        } catch (RuntimeException e) {
            if (sink.committed()) {
                // the answer was going out: almost always the client hung up; nothing left to tell it
                LOG.log(Level.DEBUG, "request {0}: answer cut: {1}", requestId, e.toString());
            } else {
                LOG.log(Level.ERROR, "request " + requestId + " on " + route + " failed", e);
                fail(sink, res, new RouterException(ErrorKind.INTERNAL, "Internal router error: " + e, e), requestId);
            }
        } finally {
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

    private static void fail(HelidonSink sink, ServerResponse res, RouterException e, RequestId requestId) {
        OpenAiError error = e.error();
        sink.errorType(ErrorTypes.ofRouterStatus(error.status()));
        if (error.status() >= 500) {
            sink.span().error(error.message());
        }
        if (sink.committed()) {
            LOG.log(Level.WARNING, "request {0}: failed after the answer started: {1}", requestId, e.toString());
            return;
        }
        if (error.status() >= 500) {
            LOG.log(Level.WARNING, "request {0}: {1} {2}", requestId, error.status(), error.message());
        }
        sink.status(error.status());
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        if (e.retryAfterSeconds() > 0) {
            res.header(HeaderNames.RETRY_AFTER, String.valueOf(e.retryAfterSeconds()));
        }
        sink.send(error.toJsonBytes());
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
     * Reads the request body, refusing one over {@code --max-payload-size} with 413 (by its Content-Length before
     * reading, or while reading a chunked body) and one that stalls longer than {@code --client-body-timeout-secs}
     * between two reads with 408 (closing the connection).
     *
     * @return the bytes, or {@code null} when the request has no body
     */
    byte[] readBody(ServerRequest req, HelidonSink sink) {
        if (!req.content().hasEntity()) {
            return null;
        }
        try (ClientConnections.Restore bounded = ctx.connections().readTimeout(ctx.config().clientBodyTimeout())) {
            return readBody(req, ctx.config().maxPayloadSize());
        } catch (RouterException e) {
            if (e.error().kind() == ErrorKind.REQUEST_TIMEOUT) {
                // the rest of the body may still come: this connection cannot carry another request
                sink.header("Connection", "close");
            }
            throw e;
        }
    }

    private static byte[] readBody(ServerRequest req, long limit) {
        long declared = req.headers().contentLength().orElse(-1);
        if (declared > limit) {
            throw tooLarge(limit);
        }
        int cap = (int) Math.min(limit, Integer.MAX_VALUE - 16);
        try (InputStream in = req.content().inputStream()) {
            if (declared >= 0) {
                byte[] body = in.readNBytes((int) declared);
                if (body.length < declared) {
                    throw new RouterException(ErrorKind.BAD_REQUEST, "Request body ended before its Content-Length");
                }
                return body;
            }
            byte[] buf = new byte[8192];
            int len = 0;
            while (true) {
                if (len == buf.length) {
                    buf = Arrays.copyOf(buf, (int) Math.min((long) buf.length * 2, (long) cap + 1));
                }
                int n = in.read(buf, len, buf.length - len);
                if (n < 0) {
                    return Arrays.copyOf(buf, len);
                }
                len += n;
                if (len > cap) {
                    throw tooLarge(limit);
                }
            }
        } catch (RouterException e) {
            throw e;
        } catch (IOException | RuntimeException e) { // Helidon's ServerConnectionException among them
            if (timedOut(e)) {
                throw new RouterException(ErrorKind.REQUEST_TIMEOUT, "The request body did not arrive in time "
                        + "(--client-body-timeout-secs)");
            }
            throw new RouterException(ErrorKind.BAD_REQUEST, "Could not read the request body: " + e.getMessage());
        }
    }

    private static boolean timedOut(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof java.net.SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    private static RouterException tooLarge(long limit) {
        return new RouterException(ErrorKind.PAYLOAD_TOO_LARGE,
                "Request body is larger than the limit of " + limit + " bytes (--max-payload-size)");
    }

    static Status status(int code) {
        return Status.create(code);
    }
}
