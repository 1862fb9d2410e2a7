package dev.vllmrouter.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.upstream.Deadlines;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamException;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

/**
 * The regular request pipeline: pick a worker, hold a {@link Lease} on it, send the client's bytes unchanged, relay
 * the answer. When a worker fails before its response head arrives — refused or broken connection, but not a
 * timeout (it may still be generating) — the request goes to another untried worker, up to {@value #MAX_ATTEMPTS}
 * attempts; vLLM aborts a request whose connection broke, so it is not run twice. Nothing is retried once the worker
 * answered. A worker's own status (a 400, a 500)
 * passes through with its body. Event streams are relayed event by event ({@link SseRelay}); other bodies are read
 * whole first (up to {@value #BUFFER_LIMIT} bytes) so a worker failing mid-body still yields a clean 502.
 * <p>Every path releases the lease exactly once and closes the upstream response: when the client hangs up
 * mid-stream the upstream connection is closed at once, which makes vLLM abort the generation. The total time of
 * one call is bounded by {@code --request-timeout-secs} (a watchdog for streams; for plain bodies the socket timeout,
 * capped by what is left of the total), each silence by the read timeout.
 */
public final class Forwarder {
    private static final System.Logger LOG = System.getLogger(Forwarder.class.getName());
    static final int MAX_ATTEMPTS = 3;
    static final int BUFFER_LIMIT = 32 * 1024 * 1024;
    /** The response header that explains the routing decision (opt-in: {@code --decision-header}). */
    public static final String DECISION_HEADER = "x-vllm-router-decision";

    private final PolicyRuntime policy;
    private final UpstreamClient client;
    private final HeaderRules headerRules;
    private final Deadlines deadlines;
    private final Ticker ticker;
    private final long requestTimeoutNanos;
    private final Duration readTimeout;
    private final boolean decisionHeader;

    /** @param decisionHeader whether answers carry {@value #DECISION_HEADER} (it names internal worker URLs) */
    public Forwarder(PolicyRuntime policy, UpstreamClient client, HeaderRules headerRules, Deadlines deadlines,
                     Ticker ticker, Duration requestTimeout, Duration readTimeout, boolean decisionHeader) {
        this.policy = policy;
        this.client = client;
        this.headerRules = headerRules;
        this.deadlines = deadlines;
        this.ticker = ticker;
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.readTimeout = readTimeout;
        this.decisionHeader = decisionHeader;
    }

    /**
     * Forwards {@code req} and writes the answer to {@code sink}.
     *
     * @throws RouterException before anything was sent to the client, for the router's own error answers
     */
    public void forward(ProxyRequest req, ClientSink sink) {
        long deadline = ticker.nanos() + requestTimeoutNanos;
        RoutingKey key = new RequestRoutingKey(req);
        String model = req.facts().model();
        if (!policy.mayServe(model)) {
            throw new RouterException(new OpenAiError(ErrorKind.NOT_FOUND, "The model `" + model
                    + "` does not exist.", "model"), null);
        }
        String target = req.rawQuery().isEmpty() ? req.rawPath() : req.rawPath() + "?" + req.rawQuery();
        Attempt attempt = Attempt.first();
        UpstreamException lastFailure = null;
        while (attempt.number() <= MAX_ATTEMPTS) {
            Decision decision = policy.pick(key, attempt);
            if (decision == null) {
                break;
            }
            Worker worker = decision.worker();
            Lease lease = worker.acquire();
            UpstreamResponse up;
            try {
                up = client.send(worker.id(), req.method().text(), worker.baseUrl(), target,
                        h -> headerRules.toWorker(req.headers(), req.requestId(), worker.dpRank(),
                                req.asJson() ? "application/json" : null, h),
                        req.body(), headTimeout(deadline));
            } catch (UpstreamException e) {
                lease.close();
                if (e.kind() == UpstreamException.Kind.TIMEOUT) {
                    throw new RouterException(ErrorKind.GATEWAY_TIMEOUT, "Worker " + worker.id()
                            + " did not answer in time", e);
                }
                LOG.log(Level.DEBUG, "request {0}: {1}; trying another worker", req.requestId(), e.getMessage());
                lastFailure = e;
                attempt = attempt.next(worker);
                continue;
            } catch (RuntimeException e) {
                lease.close();
                throw e;
            }
            if (decisionHeader) {
                sink.header(DECISION_HEADER, explain(decision, attempt));
            }
            relay(req, sink, worker, lease, up, deadline);
            return;
        }
        if (lastFailure == null) {
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE,
                    "No available workers (none registered or all unavailable)");
        }
        throw new RouterException(ErrorKind.BAD_GATEWAY, "Upstream request failed: " + lastFailure.getMessage(),
                lastFailure);
    }

    private String explain(Decision d, Attempt attempt) {
        StringBuilder sb = new StringBuilder(96).append("policy=").append(policy.policy().name())
                .append("; worker=").append(d.worker().id()).append("; reason=").append(d.reason());
        if (d.match() >= 0) {
            sb.append("; match=").append(String.format(java.util.Locale.ROOT, "%.2f", d.match()));
        }
        if (attempt.number() > 1) {
            sb.append("; attempt=").append(attempt.number());
        }
        return sb.toString();
    }

    private Duration headTimeout(long deadline) {
        long remaining = Math.max(1_000_000L, deadline - ticker.nanos());
        return remaining < readTimeout.toNanos() ? Duration.ofNanos(remaining) : readTimeout;
    }

    private void relay(ProxyRequest req, ClientSink sink, Worker worker, Lease lease, UpstreamResponse up,
                       long deadline) {
        try (lease; up) {
            int status = up.status();
            if (isEventStream(up)) {
                // a stream may run for many minutes: only a watchdog bounds its total time
                AtomicBoolean timedOut = new AtomicBoolean();
                Deadlines.Handle watchdog = deadlines.schedule(Duration.ofNanos(deadline - ticker.nanos()), () -> {
                    timedOut.set(true);
                    up.close();
                });
                try {
                    relayStream(req, sink, worker, up, status, timedOut);
                } finally {
                    watchdog.cancel();
                }
            } else {
                // a plain body follows its head at once (vLLM answers when done); each read is bounded by the
                // socket timeout, itself no longer than what was left of the total when the request was sent
                relayBody(req, sink, worker, lease, up, status);
            }
        }
    }

    private void relayBody(ProxyRequest req, ClientSink sink, Worker worker, Lease lease, UpstreamResponse up,
                           int status) {
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
            throw failedMidAnswer(worker, e, false);
        }
        sink.status(status);
        HeaderRules.toClient(up.headers(), sink);
        if (complete) {
            lease.close(); // the worker is done with this request; a slow client must not count as its load
            sink.send(body);
            return;
        }
        // a very large body of unknown length: pass the rest through as it comes
        OutputStream out = sink.stream();
        try {
            out.write(body);
            in.transferTo(out);
            out.flush();
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

    private void relayStream(ProxyRequest req, ClientSink sink, Worker worker, UpstreamResponse up, int status,
                             AtomicBoolean timedOut) {
        sink.status(status);
        HeaderRules.toClient(up.headers(), sink);
        OutputStream out;
        try {
            out = sink.stream();
        } catch (UncheckedIOException e) {
            return; // client already gone; closing `up` aborts the generation
        }
        SseRelay relay = new SseRelay();
        SseRelay.Outcome outcome = relay.relay(up.body(), out);
        switch (outcome) {
            case COMPLETED -> {
            }
            case CLIENT_GONE -> LOG.log(Level.DEBUG, "request {0}: client left mid-stream; aborting on {1}",
                    req.requestId(), worker.id());
            case WORKER_FAILED -> {
                boolean timeout = timedOut.get() || UpstreamException.classify(worker.id(), relay.failure()).kind()
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
