package dev.vllmrouter.pd;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.fault.Backoff;
import dev.vllmrouter.fault.RetryConfig;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.proxy.AnswerRelay;
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
import dev.vllmrouter.upstream.UpstreamException;
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
 *   <li>The prefill's status is checked (vllm-router does not): a 5xx, 408, 429 or a broken connection moves the
 *       prefill to another prefill worker (up to {@code --retry-max-retries} attempts, with backoff); any other 4xx is the client's own
 *       error and reaches it unchanged; nothing left → a 502 OpenAI error.</li>
 *   <li>A decode worker that cannot be reached, or whose circuit is open, is replaced by another, except under P2P-NCCL, where the prefill
 *       already pushed the KV cache to the decode worker named in the request id.</li>
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
    private final RetryConfig retry;
    private final Backoff backoff;
    private final Sleeper sleeper;
    private final RouterMetrics metrics;

    /** @param mooncake the bootstrap registry when the connector is Mooncake, else {@code null} (NIXL/P2P-NCCL) */
    public PdForwarder(PolicyRuntime prefillPolicy, PolicyRuntime decodePolicy, UpstreamClient client,
                       HeaderRules headerRules, AnswerRelay relay, Ticker ticker, RandomSource random,
                       MooncakeBootstrap mooncake, Duration requestTimeout, Duration readTimeout,
                       boolean decisionHeader, RetryConfig retry, Sleeper sleeper, RouterMetrics metrics) {
        this.metrics = metrics;
        this.retry = retry;
        this.backoff = new Backoff(retry, random);
        this.sleeper = sleeper;
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
        AutoCloseable watch = sink.onHangUp(clientLeft::cancel);
        Attempt attempt = Attempt.first();
        String lastFailure = null;
        try {
            while (true) {
                Decision prefill = prefillPolicy.pick(key, attempt);
                if (prefill == null || attempt.number() > retry.maxAttempts()) {
                    if (lastFailure == null) {
                        metrics.pdError("no_prefill_worker");
                        throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No available prefill workers");
                    }
                    throw new RouterException(ErrorKind.BAD_GATEWAY, "Prefill failed: " + lastFailure);
                }
                Worker pw = prefill.worker();
                Lease lease = pw.tryAcquire();
                if (lease == null) { // its circuit is open
                    attempt = attempt.skip(pw);
                    continue;
                }
                String requestId = PdRequestId.of(pw, decode.worker(), random);
                String transferId = mooncake == null ? null : PdRequestId.transferId(random);
                ObjectNode prefillBody = PdRequests.prefill(body, req.rawPath(), mooncake == null
                        ? PdRequests.nixlPrefillParams() : PdRequests.mooncakePrefillParams(transferId));
                metrics.decision(prefillPolicy.policy().name(), pw.id(), prefill.reason());
                UpstreamSpan trace = sink.attempt(pw, attempt.number(), "prefill");
                PrefillResult result = prefill(req, pw, lease, target, requestId, prefillBody, deadline,
                        clientLeft, trace);
                if (result.failure != null) {
                    trace.error(result.failure);
                }
                trace.end(result.status);
                if (!clientLeft.cancelled()) {
                    metrics.pdPrefill(pw.id(), result.answer != null || result.clientError != null);
                }
                if (clientLeft.cancelled()) {
                    LOG.log(Level.DEBUG, "request {0}: the client left during the prefill on {1}; aborted",
                            req.requestId(), pw.id());
                    return;
                }
                if (result.answer != null) {
                    close(watch);
                    JsonNode kv = mooncake == null ? result.answer.get("kv_transfer_params")
                            : PdRequests.mooncakeDecodeParams(transferId, MooncakeBootstrap.bootstrapAddress(pw),
                                    mooncake.engineId(pw));
                    if (kv == null || kv.isNull()) {
                        LOG.log(Level.WARNING, "request {0}: prefill {1} returned no kv_transfer_params; the "
                                + "decode worker will recompute the prompt", req.requestId(), pw.id());
                    }
                    decode(req, sink, key, body, decode, decodeAttempt, prefill, requestId, kv, result.answer, target,
                            deadline);
                    return;
                }
                if (result.clientError != null) {
                    sink.status(result.status);
                    sink.header("Content-Type", "application/json");
                    sink.send(result.clientError);
                    return;
                }
                lastFailure = result.failure;
                LOG.log(Level.WARNING, "request {0}: prefill on {1} failed: {2}", req.requestId(), pw.id(),
                        result.failure);
                if (attempt.number() >= retry.maxAttempts() || !prefillPolicy.untriedLeft(model, attempt.next(pw))) {
                    metrics.retriesExhausted(req.route()); // no backoff for a retry that will not happen
                    throw new RouterException(ErrorKind.BAD_GATEWAY, "Prefill failed: " + lastFailure);
                }
                Duration wait = backoff.delay(attempt.number() - 1);
                metrics.retry(req.route(), attempt.number(), wait.toNanos());
                sleeper.pause(wait, deadline, ticker);
                attempt = attempt.next(pw);
            }
        } finally {
            close(watch);
        }
    }

    private static void close(AutoCloseable watch) {
        try {
            watch.close();
        } catch (Exception ignored) {
            // a watch handle only cancels a timer
        }
    }

    /** The prefill's parsed answer, or the client's own error to pass back, or why the worker failed. */
    private record PrefillResult(JsonNode answer, int status, byte[] clientError, String failure) {
    }

    private PrefillResult prefill(ProxyRequest req, Worker pw, Lease lease, String target, String requestId,
                                  ObjectNode prefillBody, long deadline, Cancellation clientLeft,
                                  UpstreamSpan trace) {
        byte[] bytes = bytes(prefillBody);
        try (lease;
             UpstreamResponse up = client.send(pw.id(), "POST", pw.baseUrl(), target,
                     h -> headerRules.toWorker(req.headers(), RequestId.of(requestId), pw.dpRank(),
                             "application/json", trace, h), bytes, timeout(deadline), clientLeft)) {
            byte[] answer = up.body().readAllBytes();
            int status = up.status();
            lease.status(status);
            if (status / 100 == 2) {
                try {
                    return new PrefillResult(JSON.readTree(answer), status, null, null);
                } catch (IOException e) {
                    return new PrefillResult(null, status, null, "answer is not JSON");
                }
            }
            if (status / 100 == 4 && status != 408 && status != 429) {
                return new PrefillResult(null, status, answer, null);
            }
            return new PrefillResult(null, status, null, "status " + status);
        } catch (UpstreamException e) {
            if (clientLeft.cancelled()) {
                return new PrefillResult(null, 0, null, "the client left");
            }
            lease.failed();
            if (e.kind() == UpstreamException.Kind.TIMEOUT) {
                throw new RouterException(ErrorKind.GATEWAY_TIMEOUT, "Prefill worker " + pw.id()
                        + " did not answer in time", e);
            }
            return new PrefillResult(null, 0, null, e.getMessage());
        } catch (IOException e) {
            if (!clientLeft.cancelled()) {
                lease.failed();
            }
            return new PrefillResult(null, 0, null, "broken answer: " + e.getMessage());
        }
    }

    private void decode(ProxyRequest req, ClientSink sink, RoutingKey key, ObjectNode body, Decision decode,
                        Attempt decodeAttempt, Decision prefill, String requestId, JsonNode kv,
                        JsonNode prefillAnswer, String target, long deadline) {
        byte[] bytes = bytes(PdRequests.decode(body, kv));
        boolean merge = LogprobsMerge.wanted(body);
        Attempt attempt = decodeAttempt;
        UpstreamException lastFailure = null;
        while (decode != null && attempt.number() <= retry.maxAttempts()) {
            Worker dw = decode.worker();
            int rank = dw.dpRank() >= 0 ? dw.dpRank() : prefill.worker().dpRank();
            // under P2P-NCCL the KV cache went to this decode worker: it is called even if its circuit opened
            Lease lease = dw.zmqAddress() != null ? dw.acquire() : dw.tryAcquire();
            if (lease == null) {
                attempt = attempt.skip(dw);
                decode = decodePolicy.pick(key, attempt);
                continue;
            }
            metrics.decision(decodePolicy.policy().name(), dw.id(), decode.reason());
            UpstreamSpan trace = sink.attempt(dw, attempt.number(), "decode");
            long sentAt = ticker.nanos();
            UpstreamResponse up;
            try {
                up = client.send(dw.id(), "POST", dw.baseUrl(), target,
                        h -> headerRules.toWorker(req.headers(), RequestId.of(requestId), rank, "application/json",
                                trace, h), bytes, timeout(deadline));
            } catch (UpstreamException e) {
                lease.failed();
                lease.close();
                metrics.pdDecode(dw.id(), false);
                trace.error(e.getMessage());
                trace.end(0);
                if (e.kind() == UpstreamException.Kind.TIMEOUT) {
                    throw new RouterException(ErrorKind.GATEWAY_TIMEOUT, "Decode worker " + dw.id()
                            + " did not answer in time", e);
                }
                lastFailure = e;
                if (dw.zmqAddress() != null) {
                    break; // P2P-NCCL: the KV cache went to this decode worker; no other can take over
                }
                if (attempt.number() >= retry.maxAttempts()
                        || !decodePolicy.untriedLeft(req.facts().model(), attempt.next(dw))) {
                    metrics.retriesExhausted(req.route());
                    break;
                }
                Duration wait = backoff.delay(attempt.number() - 1);
                metrics.retry(req.route(), attempt.number(), wait.toNanos());
                sleeper.pause(wait, deadline, ticker);
                attempt = attempt.next(dw);
                decode = decodePolicy.pick(key, attempt);
                continue;
            }
            try {
                if (decisionHeader) {
                    sink.header(Forwarder.DECISION_HEADER, "policy=pd; prefill="
                            + prefill.worker().id() + " (" + prefill.reason() + "); decode=" + dw.id() + " ("
                            + decode.reason() + ")");
                }
            } catch (RuntimeException e) { // relay() owns `up` and the lease only once it runs
                up.close();
                lease.close();
                trace.end(up.status());
                throw e;
            }
            metrics.pdDecode(dw.id(), up.status() < 500);
            try {
                relay.relay(req, sink, dw, lease, up, sentAt, deadline,
                        merge ? answer -> merged(answer, prefillAnswer) : null);
            } finally {
                trace.end(up.status());
            }
            return;
        }
        if (lastFailure == null) {
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "No available decode workers");
        }
        throw new RouterException(ErrorKind.BAD_GATEWAY, "Decode failed: " + lastFailure.getMessage(), lastFailure);
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
