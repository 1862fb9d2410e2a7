package dev.vllmrouter.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
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
 * watchdog for the total time; other bodies are read whole first (up to {@value #BUFFER_LIMIT} bytes, and only as
 * far as the shared {@link BufferBudget} allows) so a worker failing mid-body still yields a clean 502, and the lease
 * is released before the bytes go to a possibly slow client. A body that is too large, or does not fit in the
 * budget, is streamed through; if the worker cuts it then, the client's connection is aborted without a proper end
 * ({@link ClientSink#abort()}), so the cut cannot pass for a complete answer. Answers without a body (to HEAD, 204,
 * 304: RFC 9112 §6.3) are relayed as such, whatever their Content-Length says. A worker dying mid-stream ends the
 * client's stream with an error event and {@code [DONE]}; a client hanging up closes the upstream connection at once
 * (vLLM then aborts the generation). The lease hears the outcome for the worker's circuit: its status once the
 * answer is complete, a failure when the worker broke off, nothing when the client left. Used by the regular
 * pipeline and by the decode leg of prefill/decode disaggregation.
 */
public final class AnswerRelay {
    private static final System.Logger LOG = System.getLogger(AnswerRelay.class.getName());
    static final int BUFFER_LIMIT = 32 * 1024 * 1024;
    /** Bodies up to this size go out in one write; larger ones in pieces, so the web server makes no whole copy. */
    static final int SEND_WHOLE_LIMIT = 64 * 1024;
    private static final int STREAM_PIECE = 16 * 1024;
    private static final byte[] EMPTY = new byte[0];

    private final Ticker ticker;
    private final RouterMetrics metrics;
    private final boolean pd;
    private final BufferBudget budget;

    /** @param pd whether this relay passes on decode answers of prefill/decode disaggregation (for metrics) */
    public AnswerRelay(Ticker ticker, RouterMetrics metrics, boolean pd) {
        this(ticker, metrics, pd, BufferBudget.forHeap());
    }

    /** @param budget the bytes all buffered answers may hold together (shared by every relay of the router) */
    public AnswerRelay(Ticker ticker, RouterMetrics metrics, boolean pd, BufferBudget budget) {
        this.ticker = ticker;
        this.metrics = metrics;
        this.pd = pd;
        this.budget = budget;
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
            if (isEventStream(up) && up.bodyLength() != 0) {
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
        Held held = new Held(budget);
        try {
            try {
                held.read(up.body(), up.bodyLength());
            } catch (IOException | RuntimeException e) {
                lease.failed();
                throw failedMidAnswer(worker, e, false);
            }
            sink.status(status);
            HeaderRules.toClient(up.headers(), sink);
            if (held.complete) {
                lease.status(status);
                lease.close(); // the worker is done with this request; a slow client must not count as its load
                sendWhole(req, sink, up, status, held, bodyRewrite);
                return;
            }
            streamThrough(req, sink, worker, lease, up, status, held);
        } finally {
            held.release();
        }
    }

    /** Sends a body read whole: small ones in one write, larger ones in pieces under their Content-Length. */
    private static void sendWhole(ProxyRequest req, ClientSink sink, UpstreamResponse up, int status, Held held,
                                  UnaryOperator<byte[]> bodyRewrite) {
        if (up.bodyLength() == 0) {
            String length = up.headers().first("Content-Length");
            if (length != null && req.method().text().equals("HEAD") && status / 100 == 2) {
                // a HEAD answer carries the length a GET would have had (RFC 9110 §8.6), and no body
                sink.header("Content-Length", length.trim());
            }
            sink.send(EMPTY);
            return;
        }
        if (bodyRewrite != null && status / 100 == 2) {
            sink.send(bodyRewrite.apply(held.join()));
        } else if (held.size <= SEND_WHOLE_LIMIT) {
            sink.send(held.join());
        } else {
            // no second whole copy (the web server copies what send() gets): the pieces go out as they are
            sink.header("Content-Length", Long.toString(held.size));
            OutputStream out = sink.stream();
            try {
                held.writeTo(out);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Passes a body on as it comes, after what was already read: a very large one, or one that did not fit in the
     * {@link BufferBudget}. A client that leaves ends it without an outcome for the worker; a worker that breaks off
     * counts as its failure, and the client's connection is then {@linkplain ClientSink#abort() aborted}, so the cut
     * cannot pass for a complete answer.
     */
    private void streamThrough(ProxyRequest req, ClientSink sink, Worker worker, Lease lease, UpstreamResponse up,
                               int status, Held held) {
        if (up.bodyLength() > 0) {
            sink.header("Content-Length", Long.toString(up.bodyLength()));
        }
        InputStream in = up.body();
        OutputStream out;
        try {
            out = sink.stream();
            held.writeTo(out);
        } catch (IOException | UncheckedIOException e) {
            return; // the client left; closing `up` ends the worker's side
        }
        held.release();
        byte[] buf = new byte[STREAM_PIECE];
        while (true) {
            int n;
            try {
                n = in.read(buf);
            } catch (IOException | RuntimeException e) {
                lease.failed();
                LOG.log(Level.WARNING, "request {0}: answer from {1} cut mid-body: {2}", req.requestId(), worker.id(),
                        e.toString());
                up.close();
                try {
                    out.flush(); // the client gets every byte the worker sent, then the cut
                } catch (IOException | UncheckedIOException ignored) {
                    // the client left as well
                }
                sink.abort();
                return;
            }
            if (n < 0) {
                break;
            }
            try {
                out.write(buf, 0, n);
            } catch (IOException | UncheckedIOException e) {
                LOG.log(Level.DEBUG, "request {0}: client left during a large answer from {1}", req.requestId(),
                        worker.id());
                return;
            }
        }
        try {
            out.flush();
        } catch (IOException | UncheckedIOException e) {
            return; // the client left at the very end: no outcome either way
        }
        lease.status(status);
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
                        ? midStream(ErrorKind.GATEWAY_TIMEOUT, req) : midStream(ErrorKind.BAD_GATEWAY, req);
                try {
                    out.write(error.toSseBytes());
                    out.flush();
                } catch (IOException | UncheckedIOException ignored) {
                    // the client left as well
                }
            }
        }
    }

    /** The last event of a broken stream: generic, with the request id (the log above names the worker). */
    private static OpenAiError midStream(ErrorKind kind, ProxyRequest req) {
        return OpenAiError.of(kind, RouterException.genericMessage(kind) + " mid-stream (request id "
                + req.requestId().value() + "; the router's log has the details)");
    }

    private static RouterException failedMidAnswer(Worker worker, Throwable e, boolean timedOut) {
        UpstreamException u = UpstreamException.classify(worker.id(), e);
        if (timedOut || u.kind() == UpstreamException.Kind.TIMEOUT) {
            return RouterException.upstream(ErrorKind.GATEWAY_TIMEOUT, "Worker " + worker.id() + " timed out", u);
        }
        return RouterException.upstream(ErrorKind.BAD_GATEWAY, "Worker " + worker.id() + " failed while answering: "
                + u.getMessage(), u);
    }

    private static boolean isEventStream(UpstreamResponse up) {
        String type = up.headers().first("Content-Type");
        return type != null && type.regionMatches(true, 0, "text/event-stream", 0, 17);
    }

    /**
     * The part of one body held in memory, in pieces whose bytes are all reserved in the {@link BufferBudget}:
     * one array of the exact length when the length is known, else pieces growing from 8 KiB to 1 MiB. Reading stops
     * at the end of the body ({@link #complete}), at {@value #BUFFER_LIMIT} bytes, or when the budget refuses more
     * (then the rest is streamed through).
     */
    private static final class Held {
        private final BufferBudget budget;
        private final List<byte[]> pieces = new ArrayList<>();
        private long reserved;
        long size;
        boolean complete;

        Held(BufferBudget budget) {
            this.budget = budget;
        }

        void read(InputStream in, long length) throws IOException {
            if (length == 0) {
                complete = true;
                return;
            }
            if (length > 0) {
                if (length <= BUFFER_LIMIT && reserve(length)) {
                    byte[] body = new byte[(int) length];
                    int n = in.readNBytes(body, 0, body.length);
                    if (n < length) {
                        throw new IOException("worker sent " + n + " of " + length + " body bytes");
                    }
                    pieces.add(body);
                    size = length;
                    complete = true;
                }
                return; // else: streamed through
            }
            int piece = 8 * 1024;
            while (size < BUFFER_LIMIT) {
                int want = (int) Math.min(piece, BUFFER_LIMIT - size);
                if (!reserve(want)) {
                    return;
                }
                byte[] b = new byte[want];
                int n = in.readNBytes(b, 0, want);
                pieces.add(b);
                size += n;
                if (n < want) {
                    complete = true; // readNBytes stops short only at the end of the body
                    return;
                }
                piece = Math.min(piece * 2, 1024 * 1024);
            }
        }

        private boolean reserve(long bytes) {
            if (budget.tryReserve(bytes)) {
                reserved += bytes;
                return true;
            }
            return false;
        }

        /** The body as one array (no copy when it is one full piece). */
        byte[] join() {
            if (pieces.size() == 1 && pieces.get(0).length == size) {
                return pieces.get(0);
            }
            byte[] all = new byte[(int) size];
            int at = 0;
            for (byte[] p : pieces) {
                int n = (int) Math.min(p.length, size - at);
                System.arraycopy(p, 0, all, at, n);
                at += n;
            }
            return all;
        }

        void writeTo(OutputStream out) throws IOException {
            long left = size;
            for (byte[] p : pieces) {
                int n = (int) Math.min(p.length, left);
                out.write(p, 0, n);
                left -= n;
            }
        }

        /** Gives the reserved bytes back (once; the pieces are dropped). */
        void release() {
            pieces.clear();
            if (reserved > 0) {
                budget.release(reserved);
                reserved = 0;
            }
        }
    }
}
