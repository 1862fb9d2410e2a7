package dev.vllmrouter.pd;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.discovery.MoriioFleet;
import dev.vllmrouter.fault.RetryConfig;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.pd.PrefillLeg.Prefilled;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.proxy.AnswerRelay;
import dev.vllmrouter.proxy.AttemptLoop;
import dev.vllmrouter.proxy.ClientSink;
import dev.vllmrouter.proxy.Forwarder;
import dev.vllmrouter.proxy.HeaderRules;
import dev.vllmrouter.proxy.PromptIdSource;
import dev.vllmrouter.proxy.ProxyRequest;
import dev.vllmrouter.proxy.RequestRoutingKey;
import dev.vllmrouter.proxy.Sleeper;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.upstream.Cancellation;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;
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
 *   <li>MoRI-IO ({@link MoriioFleet}): READ mode runs as above with MoRI-IO's parameters; WRITE mode sends both legs
 *       at once, neither replaced ({@link #forwardWrite}).</li>
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
    private final AnswerRelay relay;
    private final Ticker ticker;
    private final RandomSource random;
    private final MooncakeBootstrap mooncake;
    private final MoriioFleet moriio;
    private final long requestTimeoutNanos;
    private final boolean decisionHeader;
    private final AttemptLoop attempts;
    private final RouterMetrics metrics;
    private final PdCalls calls;
    private final PromptIdSource promptIds;

    /** @param mooncake the bootstrap registry when the connector is Mooncake, else {@code null} (NIXL/P2P-NCCL) */
    public PdForwarder(PolicyRuntime prefillPolicy, PolicyRuntime decodePolicy, UpstreamClient client,
                       HeaderRules headerRules, AnswerRelay relay, Ticker ticker, RandomSource random,
                       MooncakeBootstrap mooncake, Duration requestTimeout, Duration readTimeout,
                       boolean decisionHeader, RetryConfig retry, Sleeper sleeper, RouterMetrics metrics) {
        this(prefillPolicy, decodePolicy, client, headerRules, relay, ticker, random, mooncake, null, requestTimeout,
                readTimeout, decisionHeader, retry, sleeper, metrics);
    }

    /** @param moriio the registered MoRI-IO fleet when the connector is MoRI-IO, else {@code null} */
    public PdForwarder(PolicyRuntime prefillPolicy, PolicyRuntime decodePolicy, UpstreamClient client,
                       HeaderRules headerRules, AnswerRelay relay, Ticker ticker, RandomSource random,
                       MooncakeBootstrap mooncake, MoriioFleet moriio, Duration requestTimeout,
                       Duration readTimeout, boolean decisionHeader, RetryConfig retry, Sleeper sleeper,
                       RouterMetrics metrics) {
        this(prefillPolicy, decodePolicy, client, headerRules, relay, ticker, random, mooncake, moriio, requestTimeout,
                readTimeout, decisionHeader, retry, sleeper, metrics, null);
    }

    /**
     * @param promptIds computes a request's prompt token ids when a stage's policy asks (the prefill stage's
     *                  cache_aware with the KV-event index), or {@code null}
     */
    public PdForwarder(PolicyRuntime prefillPolicy, PolicyRuntime decodePolicy, UpstreamClient client,
                       HeaderRules headerRules, AnswerRelay relay, Ticker ticker, RandomSource random,
                       MooncakeBootstrap mooncake, MoriioFleet moriio, Duration requestTimeout,
                       Duration readTimeout, boolean decisionHeader, RetryConfig retry, Sleeper sleeper,
                       RouterMetrics metrics, PromptIdSource promptIds) {
        this.promptIds = promptIds;
        this.moriio = moriio;
        this.metrics = metrics;
        this.attempts = new AttemptLoop(retry, random, sleeper, ticker, Clock.systemUTC(), metrics);
        this.prefillPolicy = prefillPolicy;
        this.decodePolicy = decodePolicy;
        this.relay = relay;
        this.ticker = ticker;
        this.random = random;
        this.mooncake = mooncake;
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.decisionHeader = decisionHeader;
        this.calls = new PdCalls(prefillPolicy, decodePolicy, client, headerRules, attempts, ticker, random, mooncake,
                readTimeout, metrics);
    }

    /**
     * Runs both stages for {@code req} and writes the decode answer to {@code sink}.
     *
     * @throws RouterException before anything was sent to the client
     */
    public void forward(ProxyRequest req, ClientSink sink) {
        long deadline = ticker.nanos() + requestTimeoutNanos;
        sink.deadline(deadline);
        ObjectNode body = parseObject(req.body());
        String model = req.facts().model();
        if (!prefillPolicy.mayServe(model) || !decodePolicy.mayServe(model)) {
            throw new RouterException(new OpenAiError(ErrorKind.NOT_FOUND, "The model `" + model
                    + "` does not exist.", "model"), null);
        }
        RoutingKey key = new RequestRoutingKey(req, promptIds);
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
        MoriioFleet.View fleet = moriio == null ? null : moriio.view();
        if (fleet != null && fleet.mode() == null) {
            metrics.pdError("no_transfer_mode");
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE,
                    "MoRI-IO: no engine has registered a transfer mode yet");
        }
        if (fleet != null && fleet.mode() == MoriioFleet.Mode.WRITE) {
            forwardWrite(req, sink, key, body, decode, decodeAttempt, target, deadline, fleet);
            return;
        }

        // ---- prefill, moved to another prefill worker when one fails; aborted if the client leaves meanwhile
        Cancellation clientLeft = new Cancellation();
        PrefillLeg prefillLeg = new PrefillLeg(calls, req, key, body, decode.worker(), target, deadline, clientLeft,
                fleet);
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
                    sink.clientGone();
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
                    throw RouterException.upstream(ErrorKind.BAD_GATEWAY, "Prefill",
                            "Prefill failed: status " + a.status()
                            + " from " + a.worker().id() + (a.exhausted() == null ? ""
                            : " (after " + a.attempt().number() + " attempts: " + a.exhausted().reason().label()
                            + ")"), null);
                }
                decode(req, sink, key, body, decode, decodeAttempt, a.decision(), a.answer(), target, deadline, fleet);
            }
            case AttemptLoop.Failed<Prefilled> f -> {
                LOG.log(Level.WARNING, "request {0}: prefill on {1} failed: {2}", req.requestId(), f.worker().id(),
                        f.cause().getMessage());
                throw f.timeout()
                        ? RouterException.upstream(ErrorKind.GATEWAY_TIMEOUT, "Prefill",
                                "Prefill worker " + f.worker().id()
                                + " did not answer in time", f.cause())
                        : RouterException.upstream(ErrorKind.BAD_GATEWAY, "Prefill",
                                "Prefill failed: " + f.cause().getMessage()
                                + f.note(), f.cause());
            }
            case AttemptLoop.NoWorker<Prefilled> n -> {
                if (n.lastFailure() == null) {
                    metrics.pdError("no_prefill_worker");
                    throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, n.circuitsOpen()
                            ? "No available prefill workers: every circuit is open after repeated failures"
                            : "No available prefill workers");
                }
                throw RouterException.upstream(ErrorKind.BAD_GATEWAY, "Prefill",
                        "Prefill failed: " + n.lastFailure()
                        + " (no other prefill worker left to try)", n.lastException());
            }
            case AttemptLoop.Abandoned<Prefilled> ignored -> {
                sink.clientGone();
                LOG.log(Level.DEBUG, "request {0}: the client left during the prefill; aborted", req.requestId());
            }
        }
    }

    private void decode(ProxyRequest req, ClientSink sink, RoutingKey key, ObjectNode body, Decision decode,
                        Attempt decodeAttempt, Decision prefill, Prefilled prefilled, String target, long deadline,
                        MoriioFleet.View fleet) {
        Worker pw = prefill.worker();
        JsonNode kv;
        if (fleet != null) {
            kv = PdRequests.moriioReadDecodeParams(prefilled.json().get("kv_transfer_params"),
                    fleet.engine(pw.hostPort()).dpSize());
        } else if (mooncake != null) {
            kv = PdRequests.mooncakeDecodeParams(prefilled.transferId(), MooncakeBootstrap.bootstrapAddress(pw),
                    mooncake.engineId(pw));
        } else {
            kv = prefilled.json().get("kv_transfer_params");
        }
        if (kv == null || kv.isNull()) {
            LOG.log(Level.WARNING, "request {0}: prefill {1} returned no kv_transfer_params; the "
                    + "decode worker will recompute the prompt", req.requestId(), pw.id());
        }
        boolean merge = LogprobsMerge.wanted(body);
        // P2P-NCCL: the prefill pushed the KV cache to the decode worker the request id names
        boolean pinned = fleet == null && decode.worker().zmqAddress() != null;
        DecodeLeg leg = new DecodeLeg(calls, req, key, decode, PdCalls.bytes(PdRequests.decode(body, kv)), pw.dpRank(),
                prefilled.requestId(), target, deadline, pinned, NEVER);
        switch (attempts.run(leg, decodeAttempt, deadline, sink, req.route(), NEVER)) {
            case AttemptLoop.Answer<Void> a -> relayDecode(req, sink, a, prefill, merge ? prefilled.json() : null,
                    CachedTokens.appliesTo(req.rawPath()), CachedTokens.prefillCached(prefilled.json()), deadline);
            case AttemptLoop.Failed<Void> f -> throw f.timeout()
                    ? RouterException.upstream(ErrorKind.GATEWAY_TIMEOUT, "Decode",
                            "Decode worker " + f.worker().id()
                            + " did not answer in time", f.cause())
                    : RouterException.upstream(ErrorKind.BAD_GATEWAY, "Decode",
                            "Decode failed: " + f.cause().getMessage()
                            + f.note(), f.cause());
            case AttemptLoop.NoWorker<Void> n -> throw n.lastFailure() == null
                    ? new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No available decode workers")
                    : RouterException.upstream(ErrorKind.BAD_GATEWAY, "Decode",
                            "Decode failed: " + n.lastFailure()
                            + " (no other decode worker left to try)", n.lastException());
            case AttemptLoop.Abandoned<Void> ignored -> { }
        }
    }

    /**
     * MoRI-IO WRITE: the prefill writes the KV cache into blocks the decode worker allocates and announces, so both
     * legs run at once — the prefill on its own virtual thread, the decode here — and neither is replaced (the request
     * id and transfer id bind them together). A prefill that fails aborts the decode: before the decode's head the
     * client gets a 502 OpenAI error; a stream already running ends with an error event. A prefill whose worker
     * refuses the request (4xx) leaves the decode alone: it refuses the same request.
     */
    private void forwardWrite(ProxyRequest req, ClientSink sink, RoutingKey key, ObjectNode body, Decision decode,
                              Attempt decodeAttempt, String target, long deadline, MoriioFleet.View fleet) {
        Attempt prefillAttempt = Attempt.first();
        Decision prefill = prefillPolicy.pick(key, prefillAttempt);
        while (prefill != null && !prefill.worker().breaker().allowsTraffic()) {
            prefillAttempt = prefillAttempt.skip(prefill.worker());
            prefill = prefillPolicy.pick(key, prefillAttempt);
        }
        if (prefill == null) {
            metrics.pdError("no_prefill_worker");
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No available prefill workers");
        }
        Worker pw = prefill.worker();
        Worker dw = decode.worker();
        String requestId = PdRequestId.of(pw, dw, random);
        String transferId = PdRequestId.moriioTransferId(random);
        MoriioFleet.Engine pe = fleet.engine(pw.hostPort());
        MoriioFleet.Engine de = fleet.engine(dw.hostPort());
        byte[] prefillBytes = PdCalls.bytes(PdRequests.prefill(body, req.rawPath(),
                PdRequests.moriioPrefillParams(transferId, de.tpSize(), de.dpSize(), Math.max(0, dw.dpRank()))));
        byte[] decodeBytes = PdCalls.bytes(PdRequests.decode(body,
                PdRequests.moriioWriteDecodeParams(transferId, pe.tpSize(), pe.dpSize(), Math.max(0, pw.dpRank()))));

        // the decode's response once its head is in, or ABORTED once a failed prefill claimed it first
        AtomicReference<Object> decodeHead = new AtomicReference<>();
        AtomicReference<String> prefillFailure = new AtomicReference<>();
        Cancellation decodeStop = new Cancellation();
        UpstreamSpan prefillSpan = sink.attempt(pw, 1, "prefill"); // here: the client sink is not thread-safe
        Decision p = prefill;
        Thread.ofVirtual().name("pd-prefill-" + req.requestId().value()).start(() -> {
            String failure = WritePrefill.run(calls, req, p, requestId, prefillBytes, target, deadline,
                    prefillSpan);
            if (failure == null) {
                return;
            }
            LOG.log(Level.WARNING, "request {0}: prefill on {1} failed: {2}", req.requestId(), pw.id(), failure);
            prefillFailure.set(failure);
            if (!decodeHead.compareAndSet(null, ABORTED)) {
                ((UpstreamResponse) decodeHead.get()).close(); // no-op once the answer went back to the pool
            } else {
                decodeStop.cancel();
            }
        });
        DecodeLeg leg = new DecodeLeg(calls, req, key, decode, decodeBytes, pw.dpRank(), requestId, target, deadline,
                true,
                decodeStop);
        switch (attempts.run(leg, decodeAttempt, deadline, sink, req.route(), decodeStop)) {
            case AttemptLoop.Answer<Void> a -> {
                if (!decodeHead.compareAndSet(null, a.response())) {
                    a.close();
                    a.trace().end(a.status());
                    throw RouterException.upstream(ErrorKind.BAD_GATEWAY, "Prefill",
                            "Prefill failed: " + prefillFailure.get(), null);
                }
                relayDecode(req, sink, a, prefill, null, false, null, deadline);
            }
            case AttemptLoop.Abandoned<Void> ignored -> throw RouterException.upstream(ErrorKind.BAD_GATEWAY,
                    "Prefill", "Prefill failed: " + prefillFailure.get(), null);
            case AttemptLoop.Failed<Void> f -> throw f.timeout()
                    ? RouterException.upstream(ErrorKind.GATEWAY_TIMEOUT, "Decode",
                            "Decode worker " + f.worker().id()
                            + " did not answer in time", f.cause())
                    : RouterException.upstream(ErrorKind.BAD_GATEWAY, "Decode",
                            "Decode failed: " + f.cause().getMessage(),
                            f.cause());
            case AttemptLoop.NoWorker<Void> n -> throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE,
                    "No available decode workers");
        }
    }

    private static final Object ABORTED = new Object();

    /**
     * Relays a decode answer to the client: with the prompt's logprobs merged in when {@code mergeFrom} is set, and,
     * when {@code reconcileCached}, the prefill's prefix-cache hit as the answer's {@code cached_tokens}
     * ({@link CachedTokens}: a plain body, or only the usage events of a stream).
     */
    private void relayDecode(ProxyRequest req, ClientSink sink, AttemptLoop.Answer<Void> a, Decision prefill,
                             JsonNode mergeFrom, boolean reconcileCached, Long cached, long deadline) {
        try {
            if (decisionHeader) {
                sink.header(Forwarder.DECISION_HEADER, "policy=pd; prefill=" + prefill.worker().id() + " ("
                        + prefill.reason() + "); decode=" + a.worker().id() + " (" + a.decision().reason() + ")");
            }
        } catch (RuntimeException e) { // relay() owns the answer only once it runs
            a.close();
            a.trace().end(a.status());
            throw e;
        }
        try {
            UnaryOperator<byte[]> body = mergeFrom != null ? answer -> merged(answer, mergeFrom) : null;
            if (reconcileCached) {
                UnaryOperator<byte[]> merge = body;
                body = answer -> CachedTokens.rewriteBody(merge == null ? answer : merge.apply(answer), cached);
            }
            relay.relay(req, sink, a.worker(), a.lease(), a.response(), a.sentAt(), deadline, body,
                    reconcileCached ? event -> CachedTokens.rewriteEvent(event, cached) : null);
        } finally {
            a.trace().end(a.status());
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

}
