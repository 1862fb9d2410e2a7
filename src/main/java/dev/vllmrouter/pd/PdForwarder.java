package dev.vllmrouter.pd;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.fault.RetryConfig;
import dev.vllmrouter.fault.RetryDecision;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.proxy.AnswerRelay;
import dev.vllmrouter.proxy.AttemptLoop;
import dev.vllmrouter.proxy.ClientSink;
import dev.vllmrouter.proxy.Forwarder;
import dev.vllmrouter.proxy.HeaderRules;
import dev.vllmrouter.proxy.ProxyRequest;
import dev.vllmrouter.proxy.RequestId;
import dev.vllmrouter.proxy.RequestRoutingKey;
import dev.vllmrouter.proxy.Sleeper;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.upstream.Cancellation;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

/**
 * The two-stage pipeline of prefill/decode disaggregation, sequential as vLLM's connectors need it: the prefill
 * policy picks a prefill worker and the decode policy a decode worker (separate instances); the prefill worker gets
 * the client's request cut to one token ({@link PdRequests#prefill}) and computes the prompt's KV cache; the decode
 * worker gets the client's own request plus the {@code kv_transfer_params} telling it where that cache is, and its
 * answer — a stream, usually — goes to the client through {@link AnswerRelay}, byte for byte.
 * <ul>
 *   <li>Both legs carry the same {@code X-Request-Id} ({@link PdRequestId}) and the client's headers (vllm-router
 *       sends neither), {@code X-data-parallel-rank} for DP workers (the decode leg inherits the prefill's rank when
 *       its worker has none), and each holds a lease on its worker for its duration.</li>
 *   <li>Each leg's attempts are {@link AttemptLoop}'s, with the rules of the regular pipeline: a connection failure
 *       or a 408/429/500/502/503/504 moves the leg to another worker of its role after the backoff (or the worker's
 *       {@code Retry-After}, capped), up to {@code --retry-max-retries} attempts; a read timeout is not retried. The
 *       prefill's status is checked (vllm-router does not): any other 4xx is the client's own error and reaches it
 *       unchanged; a failed prefill ends in a 502 OpenAI error, and no decode runs without a prefill. A decode whose
 *       retries ran out passes its worker's last answer on, as the regular pipeline does.</li>
 *   <li>A decode worker whose circuit is open is passed over, except under P2P-NCCL, where the prefill already pushed
 *       the KV cache to the decode worker named in the request id: that worker is called whatever its circuit says
 *       and never replaced.</li>
 *   <li>Non-streamed requests with logprobs or echo get the prompt's log-probabilities from the prefill answer
 *       ({@link LogprobsMerge}).</li>
 * </ul>
 * A client that hangs up during the decode stream closes the decode connection at once; one that hangs up during the
 * prefill is noticed through {@link ClientSink#onHangUp} (within its limits) and the prefill connection is closed at
 * once, so vLLM aborts it and no decode is sent.
 */
public final class PdForwarder {
    private static final System.Logger LOG = System.getLogger(PdForwarder.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Cancellation NEVER = new Cancellation();

    private final PolicyRuntime prefillPolicy;
    private final PolicyRuntime decodePolicy;
    private final UpstreamClient client;
    private final HeaderRules headerRules;
    private final AnswerRelay relay;
    private final Ticker ticker;
    private final RandomSource random;
    private final MooncakeBootstrap mooncake;
    private final long requestTimeoutNanos;
    private final Duration readTimeout;
    private final boolean decisionHeader;
    private final AttemptLoop attempts;
    private final RouterMetrics metrics;

    /** @param mooncake the bootstrap registry when the connector is Mooncake, else {@code null} (NIXL/P2P-NCCL) */
    public PdForwarder(PolicyRuntime prefillPolicy, PolicyRuntime decodePolicy, UpstreamClient client,
                       HeaderRules headerRules, AnswerRelay relay, Ticker ticker, RandomSource random,
                       MooncakeBootstrap mooncake, Duration requestTimeout, Duration readTimeout,
                       boolean decisionHeader, RetryConfig retry, Sleeper sleeper, RouterMetrics metrics) {
        this.metrics = metrics;
        this.attempts = new AttemptLoop(retry, random, sleeper, ticker, Clock.systemUTC(), metrics);
        this.prefillPolicy = prefillPolicy;
        this.decodePolicy = decodePolicy;
        this.client = client;
        this.headerRules = headerRules;
        this.relay = relay;
        this.ticker = ticker;
        this.random = random;
        this.mooncake = mooncake;
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.readTimeout = readTimeout;
        this.decisionHeader = decisionHeader;
    }

    /**
     * Runs both stages for {@code req} and writes the decode answer to {@code sink}.
     *
     * @throws RouterException before anything was sent to the client
     */
    public void forward(ProxyRequest req, ClientSink sink) {
        long deadline = ticker.nanos() + requestTimeoutNanos;
        ObjectNode body = parseObject(req.body());
        String model = req.facts().model();
        if (!prefillPolicy.mayServe(model) || !decodePolicy.mayServe(model)) {
            throw new RouterException(new OpenAiError(ErrorKind.NOT_FOUND, "The model `" + model
                    + "` does not exist.", "model"), null);
        }
        RoutingKey key = new RequestRoutingKey(req);
        // the decode worker comes first: the request id names it
        Attempt decodeAttempt = Attempt.first();
        Decision decode = decodePolicy.pick(key, decodeAttempt);
        while (decode != null && !decode.worker().breaker().allowsTraffic()) {
            decodeAttempt = decodeAttempt.skip(decode.worker());
            decode = decodePolicy.pick(key, decodeAttempt);
        }
        if (decode == null) {
            metrics.pdError("no_decode_worker");
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No available decode workers");
        }
        String target = req.rawQuery().isEmpty() ? req.rawPath() : req.rawPath() + "?" + req.rawQuery();

        // ---- prefill, moved to another prefill worker when one fails; aborted if the client leaves meanwhile
        Cancellation clientLeft = new Cancellation();
        PrefillLeg prefillLeg = new PrefillLeg(req, key, body, decode.worker(), target, deadline, clientLeft);
        AttemptLoop.Outcome<Prefilled> outcome;
        AutoCloseable watch = sink.onHangUp(clientLeft::cancel);
        try {
            outcome = attempts.run(prefillLeg, Attempt.first(), deadline, sink, req.route(), clientLeft);
        } finally {
            close(watch);
        }
        switch (outcome) {
            case AttemptLoop.Answer<Prefilled> a -> {
                try (a) {
                    a.lease().status(a.status());
                } finally {
                    a.trace().end(a.status());
                }
                if (clientLeft.cancelled()) {
                    LOG.log(Level.DEBUG, "request {0}: the client left during the prefill on {1}; aborted",
                            req.requestId(), a.worker().id());
                    return;
                }
                if (a.answer() == null || a.answer().json() == null) {
                    if (a.answer() != null && a.status() / 100 == 4) { // the client's own error, as it came
                        sink.status(a.status());
                        sink.header("Content-Type", "application/json");
                        sink.send(a.answer().bytes());
                        return;
                    }
                    LOG.log(Level.WARNING, "request {0}: prefill on {1} answered {2}", req.requestId(),
                            a.worker().id(), a.status());
                    throw new RouterException(ErrorKind.BAD_GATEWAY, "Prefill failed: status " + a.status()
                            + " from " + a.worker().id() + (a.exhausted() == null ? ""
                            : " (after " + a.attempt().number() + " attempts: " + a.exhausted().reason().label()
                            + ")"));
                }
                decode(req, sink, key, body, decode, decodeAttempt, a.decision(), a.answer(), target, deadline);
            }
            case AttemptLoop.Failed<Prefilled> f -> {
                LOG.log(Level.WARNING, "request {0}: prefill on {1} failed: {2}", req.requestId(), f.worker().id(),
                        f.cause().getMessage());
                throw f.timeout()
                        ? new RouterException(ErrorKind.GATEWAY_TIMEOUT, "Prefill worker " + f.worker().id()
                                + " did not answer in time", f.cause())
                        : new RouterException(ErrorKind.BAD_GATEWAY, "Prefill failed: " + f.cause().getMessage()
                                + f.note(), f.cause());
            }
            case AttemptLoop.NoWorker<Prefilled> n -> {
                if (n.lastFailure() == null) {
                    metrics.pdError("no_prefill_worker");
                    throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, n.circuitsOpen()
                            ? "No available prefill workers: every circuit is open after repeated failures"
                            : "No available prefill workers");
                }
                throw new RouterException(ErrorKind.BAD_GATEWAY, "Prefill failed: " + n.lastFailure()
                        + " (no other prefill worker left to try)", n.lastException());
            }
            case AttemptLoop.Abandoned<Prefilled> ignored -> LOG.log(Level.DEBUG,
                    "request {0}: the client left during the prefill; aborted", req.requestId());
        }
    }

    /**
     * A prefill's answer as the decode needs it.
     *
     * @param json       the parsed 2xx answer, or {@code null} for any other status
     * @param bytes      the answer as it came
     * @param requestId  the {@code X-Request-Id} both legs carry
     * @param transferId Mooncake's transfer id, or {@code null}
     */
    private record Prefilled(JsonNode json, byte[] bytes, String requestId, String transferId) {
    }

    /** The prefill leg: the client's request cut to one token, with this attempt's request id. */
    private final class PrefillLeg extends AttemptLoop.PolicyLeg<Prefilled> {
        private final ProxyRequest req;
        private final ObjectNode body;
        private final Worker decode;
        private final String target;
        private final long deadline;
        private final Cancellation clientLeft;
        private String requestId;
        private String transferId;

        PrefillLeg(ProxyRequest req, RoutingKey key, ObjectNode body, Worker decode, String target, long deadline,
                   Cancellation clientLeft) {
            super(prefillPolicy, key, req.facts().model());
            this.req = req;
            this.body = body;
            this.decode = decode;
            this.target = target;
            this.deadline = deadline;
            this.clientLeft = clientLeft;
        }

        @Override
        public String phase() {
            return "prefill";
        }

        @Override
        public UpstreamResponse send(Worker pw, UpstreamSpan trace) {
            requestId = PdRequestId.of(pw, decode, random);
            transferId = mooncake == null ? null : PdRequestId.transferId(random);
            byte[] bytes = bytes(PdRequests.prefill(body, req.rawPath(), mooncake == null
                    ? PdRequests.nixlPrefillParams() : PdRequests.mooncakePrefillParams(transferId)));
            String id = requestId;
            return client.send(pw.id(), "POST", pw.baseUrl(), target,
                    h -> headerRules.toWorker(req.headers(), RequestId.of(id), pw.dpRank(), "application/json",
                            trace, h), bytes, timeout(deadline), clientLeft);
        }

        @Override
        public Prefilled read(Worker pw, UpstreamResponse up) throws IOException {
            byte[] answer = up.body().readAllBytes();
            JsonNode json = null;
            if (up.status() / 100 == 2) {
                try {
                    json = JSON.readTree(answer);
                } catch (IOException e) {
                    throw new IOException("prefill answer is not JSON", e);
                }
            }
            return new Prefilled(json, answer, requestId, transferId);
        }

        @Override
        public void outcome(Worker pw, int status) {
            metrics.pdPrefill(pw.id(), status / 100 == 2
                    || (status / 100 == 4 && !RetryDecision.isRetryableStatus(status)));
        }
    }

    /**
     * The decode leg: the client's own request plus the prefill's {@code kv_transfer_params}. Its first worker is
     * the one the request id names; under P2P-NCCL it is the only one (the prefill pushed the KV cache there), called
     * whatever its circuit says.
     */
    private final class DecodeLeg extends AttemptLoop.PolicyLeg<Void> {
        private final ProxyRequest req;
        private final byte[] bytes;
        private final int prefillRank;
        private final String requestId;
        private final String target;
        private final long deadline;
        private final boolean pinned;
        private Decision first;

        DecodeLeg(ProxyRequest req, RoutingKey key, Decision first, byte[] bytes, int prefillRank, String requestId,
                  String target, long deadline) {
            super(decodePolicy, key, req.facts().model());
            this.req = req;
            this.first = first;
            this.bytes = bytes;
            this.prefillRank = prefillRank;
            this.requestId = requestId;
            this.target = target;
            this.deadline = deadline;
            this.pinned = first.worker().zmqAddress() != null;
        }

        @Override
        public String phase() {
            return "decode";
        }

        @Override
        public Decision pick(Attempt attempt) {
            Decision d = first;
            if (d != null) {
                first = null;
                return d;
            }
            return pinned ? null : super.pick(attempt);
        }

        @Override
        public boolean untriedLeft(Attempt next) {
            return !pinned && super.untriedLeft(next);
        }

        @Override
        public Lease lease(Worker dw) {
            return pinned ? dw.acquire() : dw.tryAcquire();
        }

        @Override
        public UpstreamResponse send(Worker dw, UpstreamSpan trace) {
            int rank = dw.dpRank() >= 0 ? dw.dpRank() : prefillRank;
            return client.send(dw.id(), "POST", dw.baseUrl(), target,
                    h -> headerRules.toWorker(req.headers(), RequestId.of(requestId), rank, "application/json",
                            trace, h), bytes, timeout(deadline));
        }

        @Override
        public void outcome(Worker dw, int status) {
            metrics.pdDecode(dw.id(), status != 0 && status < 500);
        }
    }

    private void decode(ProxyRequest req, ClientSink sink, RoutingKey key, ObjectNode body, Decision decode,
                        Attempt decodeAttempt, Decision prefill, Prefilled prefilled, String target, long deadline) {
        Worker pw = prefill.worker();
        JsonNode kv = mooncake == null ? prefilled.json().get("kv_transfer_params")
                : PdRequests.mooncakeDecodeParams(prefilled.transferId(), MooncakeBootstrap.bootstrapAddress(pw),
                        mooncake.engineId(pw));
        if (kv == null || kv.isNull()) {
            LOG.log(Level.WARNING, "request {0}: prefill {1} returned no kv_transfer_params; the "
                    + "decode worker will recompute the prompt", req.requestId(), pw.id());
        }
        boolean merge = LogprobsMerge.wanted(body);
        DecodeLeg leg = new DecodeLeg(req, key, decode, bytes(PdRequests.decode(body, kv)), pw.dpRank(),
                prefilled.requestId(), target, deadline);
        switch (attempts.run(leg, decodeAttempt, deadline, sink, req.route(), NEVER)) {
            case AttemptLoop.Answer<Void> a -> {
                try {
                    if (decisionHeader) {
                        sink.header(Forwarder.DECISION_HEADER, "policy=pd; prefill=" + pw.id() + " ("
                                + prefill.reason() + "); decode=" + a.worker().id() + " (" + a.decision().reason()
                                + ")");
                    }
                } catch (RuntimeException e) { // relay() owns the answer only once it runs
                    a.close();
                    a.trace().end(a.status());
                    throw e;
                }
                try {
                    relay.relay(req, sink, a.worker(), a.lease(), a.response(), a.sentAt(), deadline,
                            merge ? answer -> merged(answer, prefilled.json()) : null);
                } finally {
                    a.trace().end(a.status());
                }
            }
            case AttemptLoop.Failed<Void> f -> throw f.timeout()
                    ? new RouterException(ErrorKind.GATEWAY_TIMEOUT, "Decode worker " + f.worker().id()
                            + " did not answer in time", f.cause())
                    : new RouterException(ErrorKind.BAD_GATEWAY, "Decode failed: " + f.cause().getMessage()
                            + f.note(), f.cause());
            case AttemptLoop.NoWorker<Void> n -> throw n.lastFailure() == null
                    ? new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No available decode workers")
                    : new RouterException(ErrorKind.BAD_GATEWAY, "Decode failed: " + n.lastFailure()
                            + " (no other decode worker left to try)", n.lastException());
            case AttemptLoop.Abandoned<Void> ignored -> { }
        }
    }

    private static void close(AutoCloseable watch) {
        try {
            watch.close();
        } catch (Exception ignored) {
            // a watch handle only cancels a timer
        }
    }

    private static byte[] merged(byte[] decodeAnswer, JsonNode prefillAnswer) {
        try {
            JsonNode node = JSON.readTree(decodeAnswer);
            if (!(node instanceof ObjectNode decode)) {
                return decodeAnswer;
            }
            LogprobsMerge.merge(decode, prefillAnswer);
            return JSON.writeValueAsBytes(decode);
        } catch (IOException e) {
            return decodeAnswer;
        }
    }


    private Duration timeout(long deadline) {
        long remaining = Math.max(1_000_000L, deadline - ticker.nanos());
        return remaining < readTimeout.toNanos() ? Duration.ofNanos(remaining) : readTimeout;
    }

    private static ObjectNode parseObject(byte[] body) {
        try {
            JsonNode node = body == null ? null : JSON.readTree(body);
            if (node instanceof ObjectNode o) {
                return o;
            }
        } catch (IOException e) {
            // below
        }
        throw new RouterException(ErrorKind.BAD_REQUEST, "Prefill/decode needs a JSON object body");
    }

    private static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
