package dev.vllmrouter.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.function.UnaryOperator;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.upstream.UpstreamException;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

/**
 * Passes a worker's answer to the client. Event streams are relayed event by event ({@link SseRelay}) under a
 * watchdog for the total time; other bodies are read whole first (up to {@value #BUFFER_LIMIT} bytes) so a worker
 * failing mid-body still yields a clean 502, and the lease is released before the bytes go to a possibly slow client.
 * A worker dying mid-stream ends the client's stream with an error event and {@code [DONE]}; a client hanging up
 * closes the upstream connection at once (vLLM then aborts the generation). The lease hears the outcome for the
 * worker's circuit: its status once the answer is complete, a failure when the worker broke off, nothing when the
 * client left. Used by the regular pipeline and by the decode leg of prefill/decode disaggregation.
 */
public final class AnswerRelay {
    private static final System.Logger LOG = System.getLogger(AnswerRelay.class.getName());
    static final int BUFFER_LIMIT = 32 * 1024 * 1024;

    private final Ticker ticker;
    private final RouterMetrics metrics;
    private final boolean pd;

    /** @param pd whether this relay passes on decode answers of prefill/decode disaggregation (for metrics) */
    public AnswerRelay(Ticker ticker, RouterMetrics metrics, boolean pd) {
        this.ticker = ticker;
        this.metrics = metrics;
        this.pd = pd;
    }

    /**
     * Relays {@code up} to {@code sink}, then releases {@code lease} and closes {@code up} (also on failure).
     *
     * @param sentAt       {@link Ticker} time the request was sent to the worker (time to first token counts from it)
     * @param deadline     {@link Ticker} time by which the whole answer must be in
     * @param bodyRewrite  applied to a complete non-stream 2xx body before it is sent (PD's logprobs merge), or
     *                     {@code null}
     * @throws RouterException before anything was sent, when the worker failed while answering
     */
    public void relay(ProxyRequest req, ClientSink sink, Worker worker, Lease lease, UpstreamResponse up,
                      long sentAt, long deadline, UnaryOperator<byte[]> bodyRewrite) {
        relay(req, sink, worker, lease, up, sentAt, deadline, bodyRewrite, null);
    }

    /**
     * As {@link #relay(ProxyRequest, ClientSink, Worker, Lease, UpstreamResponse, long, long, UnaryOperator)}, with
     * each complete event of a 2xx stream passed through {@code eventRewrite} ({@link SseRelay#SseRelay(UnaryOperator)};
     * {@code null}: none).
     */
    public void relay(ProxyRequest req, ClientSink sink, Worker worker, Lease lease, UpstreamResponse up,
                      long sentAt, long deadline, UnaryOperator<byte[]> bodyRewrite,
                      UnaryOperator<byte[]> eventRewrite) {
        try (lease; up) {
            int status = up.status();
            if (isEventStream(up)) {
                // a stream may run for many minutes: only a watchdog bounds its total time
                up.deadline(ticker, deadline);
                relayStream(req, sink, worker, lease, up, status, sentAt, status / 100 == 2 ? eventRewrite : null);
            } else {
                // a plain body follows its head at once (vLLM answers when done); each read is bounded by the
                // read timeout, itself no longer than what was left of the total when the request was sent
                relayBody(req, sink, worker, lease, up, status, bodyRewrite);
            }
        }
    }

    private void relayBody(ProxyRequest req, ClientSink sink, Worker worker, Lease lease, UpstreamResponse up,
                           int status, UnaryOperator<byte[]> bodyRewrite) {
        InputStream in = up.body();
        byte[] body;
        boolean complete;
        try {
            long length = contentLength(up);
            if (length >= 0 && length <= BUFFER_LIMIT) {
                body = in.readNBytes((int) length);
                if (body.length < length) {
                    throw new IOException("worker sent " + body.length + " of " + length + " body bytes");
                }
                complete = true;
            } else {
                ByteArrayOutputStream head = new ByteArrayOutputStream();
                complete = readUpTo(in, head, BUFFER_LIMIT);
                body = head.toByteArray();
            }
        } catch (IOException | RuntimeException e) {
            lease.failed();
            throw failedMidAnswer(worker, e, false);
        }
        sink.status(status);
        HeaderRules.toClient(up.headers(), sink);
        if (complete) {
            lease.status(status);
            lease.close(); // the worker is done with this request; a slow client must not count as its load
            sink.send(bodyRewrite != null && status / 100 == 2 ? bodyRewrite.apply(body) : body);
            return;
        }
        // a very large body of unknown length: pass the rest through as it comes
        OutputStream out = sink.stream();
        try {
            out.write(body);
            in.transferTo(out);
            out.flush();
            lease.status(status);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "request {0}: large answer from {1} cut: {2}", req.requestId(), worker.id(),
                    e.toString());
            up.close();
        }
    }

    private static long contentLength(UpstreamResponse up) {
        String cl = up.headers().first("Content-Length");
        if (cl == null || up.headers().first("Transfer-Encoding") != null) {
            return -1;
        }
        try {
            return Long.parseLong(cl.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void relayStream(ProxyRequest req, ClientSink sink, Worker worker, Lease lease, UpstreamResponse up,
                             int status, long sentAt, UnaryOperator<byte[]> eventRewrite) {
        sink.status(status);
        HeaderRules.toClient(up.headers(), sink);
        OutputStream out;
        try {
            out = sink.stream();
        } catch (UncheckedIOException e) {
            return; // client already gone; closing `up` aborts the generation
        }
        SseRelay relay = new SseRelay(eventRewrite);
        long[] last = {sentAt, 0}; // time of the last delivery, deliveries so far
        String id = worker.id();
        SseRelay.Outcome outcome = relay.relay(up.body(), out, delivered -> {
            long now = ticker.nanos();
            if (last[1] == 0) {
                metrics.firstToken(id, now - last[0]);
                sink.firstToken();
            } else {
                metrics.interToken(id, now - last[0]);
            }
            for (long more = 1; more < delivered; more++) {
                metrics.interToken(id, 0); // arrived with the one before: no gap
            }
            last[1] += delivered;
            last[0] = now;
        });
        switch (outcome) {
            case COMPLETED -> lease.status(status);
            case CLIENT_GONE -> LOG.log(Level.DEBUG, "request {0}: client left mid-stream; aborting on {1}",
                    req.requestId(), worker.id());
            case WORKER_FAILED -> {
                lease.failed();
                metrics.streamError(worker.id(), pd);
                boolean timeout = up.deadlinePassed() || UpstreamException.classify(worker.id(), relay.failure()).kind()
                        == UpstreamException.Kind.TIMEOUT;
                LOG.log(Level.WARNING, "request {0}: stream from {1} broke after {2} events: {3}", req.requestId(),
                        worker.id(), relay.events(), timeout ? "timeout" : String.valueOf(relay.failure()));
                OpenAiError error = timeout
                        ? OpenAiError.of(ErrorKind.GATEWAY_TIMEOUT, "Worker " + worker.id() + " timed out mid-stream")
                        : OpenAiError.of(ErrorKind.BAD_GATEWAY, "Worker " + worker.id() + " failed mid-stream");
                try {
                    out.write(error.toSseBytes());
                    out.flush();
                } catch (IOException | UncheckedIOException ignored) {
                    // the client left as well
                }
            }
        }
    }

    private static RouterException failedMidAnswer(Worker worker, Throwable e, boolean timedOut) {
        UpstreamException u = UpstreamException.classify(worker.id(), e);
        if (timedOut || u.kind() == UpstreamException.Kind.TIMEOUT) {
            return new RouterException(ErrorKind.GATEWAY_TIMEOUT, "Worker " + worker.id() + " timed out", u);
        }
        return new RouterException(ErrorKind.BAD_GATEWAY, "Worker " + worker.id() + " failed while answering: "
                + u.getMessage(), u);
    }

    /** Reads {@code in} into {@code out} until EOF (true) or until {@code limit} bytes were read (false). */
    private static boolean readUpTo(InputStream in, ByteArrayOutputStream out, int limit) throws IOException {
        byte[] buf = new byte[8192];
        while (out.size() < limit) {
            int n = in.read(buf, 0, Math.min(buf.length, limit - out.size()));
            if (n < 0) {
                return true;
            }
            out.write(buf, 0, n);
        }
        return false;
    }

    private static boolean isEventStream(UpstreamResponse up) {
        String type = up.headers().first("Content-Type");
        return type != null && type.regionMatches(true, 0, "text/event-stream", 0, 17);
    }
}
