package dev.vllmrouter.proxy;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.fault.RetryConfig;
import dev.vllmrouter.fault.RetryDecision;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;
import dev.vllmrouter.openai.RequestFacts;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.upstream.Cancellation;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

/**
 * The regular request pipeline: pick a worker whose circuit lets the call through, hold a {@link Lease} on it, send
 * the client's bytes unchanged, relay the answer. The attempts are {@link AttemptLoop}'s, as for both PD legs.
 * <p><b>Retries</b> ({@code --retry-*}, decided by {@link RetryDecision}): an attempt that fails before anything went
 * to the client — no connection, a connection lost before the response head, or a head with 408/429/500/502/503/504
 * — is tried again on a worker this request has not tried, after vllm-router's backoff (or the worker's
 * {@code Retry-After}, capped), while attempts and untried workers are left. Never retried: a read timeout (the worker
 * may still be generating), anything once the answer started, and statuses on fallback routes with side effects
 * (non-JSON, non-GET). When no retry is left the last worker answer is relayed as it came (vllm-router does the
 * same), or the router answers 502/504 for a transport failure.
 * <p><b>Circuits:</b> each lease reports its outcome to the worker's breaker (5xx and transport failures count, 4xx
 * don't); a worker whose circuit is open is passed over without counting as an attempt.
 * <p>Every path releases the lease exactly once and closes the upstream response. The total time of one call is
 * bounded by {@code --request-timeout-secs} (a watchdog for streams; for plain bodies the socket timeout, capped by
 * what is left of the total), each silence by the read timeout; backoff never sleeps past the total.
 */
public final class Forwarder {
    /** The response header that explains the routing decision (opt-in: {@code --decision-header}). */
    public static final String DECISION_HEADER = "x-vllm-router-decision";

    private final PolicyRuntime policy;
    private final UpstreamClient client;
    private final HeaderRules headerRules;
    private final Ticker ticker;
    private final long requestTimeoutNanos;
    private final Duration readTimeout;
    private final boolean decisionHeader;
    private final AnswerRelay relay;
    private final AttemptLoop attempts;
    private final PromptIdSource promptIds;
    private final CacheCheck cacheCheck;

    /** @param decisionHeader whether answers carry {@value #DECISION_HEADER} (it names internal worker URLs) */
    public Forwarder(PolicyRuntime policy, UpstreamClient client, HeaderRules headerRules,
                     Ticker ticker, Duration requestTimeout, Duration readTimeout, boolean decisionHeader,
                     RetryConfig retry, RandomSource random, Sleeper sleeper, Clock clock, RouterMetrics metrics) {
        this(policy, client, headerRules, ticker, requestTimeout, readTimeout, decisionHeader, retry, random, sleeper,
                clock, metrics, null, null);
    }

    /**
     * With exact prefix-cache routing ({@code --kv-events-port}).
     *
     * @param promptIds  computes a request's prompt token ids when the policy asks, or {@code null}
     * @param cacheCheck hears each predicted-and-answered request's reported cached tokens, or {@code null}
     */
    public Forwarder(PolicyRuntime policy, UpstreamClient client, HeaderRules headerRules,
                     Ticker ticker, Duration requestTimeout, Duration readTimeout, boolean decisionHeader,
                     RetryConfig retry, RandomSource random, Sleeper sleeper, Clock clock, RouterMetrics metrics,
                     PromptIdSource promptIds, CacheCheck cacheCheck) {
        this.promptIds = promptIds;
        this.cacheCheck = cacheCheck;
        this.policy = policy;
        this.client = client;
        this.headerRules = headerRules;
        this.ticker = ticker;
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.readTimeout = readTimeout;
        this.decisionHeader = decisionHeader;
        this.relay = new AnswerRelay(ticker, metrics, false);
        this.attempts = new AttemptLoop(retry, random, sleeper, ticker, clock, metrics);
    }

    /**
     * Forwards {@code req} and writes the answer to {@code sink}.
     *
     * @throws RouterException before anything was sent to the client, for the router's own error answers
     */
    public void forward(ProxyRequest req, ClientSink sink) {
        long deadline = ticker.nanos() + requestTimeoutNanos;
        HangUp hangUp = new HangUp();
        RequestRoutingKey key = new RequestRoutingKey(req, promptIds);
        String model = req.facts().model();
        if (!policy.mayServe(model)) {
            throw new RouterException(new OpenAiError(ErrorKind.NOT_FOUND, "The model `" + model
                    + "` does not exist.", "model"), null);
        }
        String target = req.rawQuery().isEmpty() ? req.rawPath() : req.rawPath() + "?" + req.rawQuery();
        // statuses are retried on JSON routes and safe methods: elsewhere the worker may have acted already
        boolean retryStatuses = req.facts() != RequestFacts.NONE || isSafe(req.method().text());
        AttemptLoop.Leg<Void> leg = new AttemptLoop.PolicyLeg<>(policy, key, model) {
            @Override
            public String phase() {
                return "inference";
            }

            @Override
            public boolean retryStatuses() {
                return retryStatuses;
            }

            @Override
            public UpstreamResponse send(Worker worker, UpstreamSpan trace) {
                try {
                    return client.send(worker.id(), req.method().text(), worker.baseUrl(), target,
                            h -> headerRules.toWorker(req.headers(), req.requestId(), worker.dpRank(),
                                    req.asJson() ? "application/json" : null, trace, h),
                            req.body(), headTimeout(deadline), hangUp.attempt());
                } catch (RuntimeException e) {
                    hangUp.attemptOver();
                    throw e;
                }
            }

            @Override
            public void outcome(Worker worker, int status) {
                hangUp.attemptOver(); // before its connection may go back to the pool
            }
        };
        sink.deadline(deadline);
        // until the answer's head is in nothing is written to the client: a hang-up is noticed by watching it, and
        // closes the worker connection at once (vLLM aborts the generation), as writing to a gone client does later
        AttemptLoop.Outcome<Void> outcome;
        AutoCloseable watch = sink.onHangUp(hangUp::clientLeft);
        try {
            outcome = attempts.run(leg, Attempt.first(), deadline, sink, req.route(), hangUp.left);
        } finally {
            closeQuietly(watch);
        }
        if (hangUp.left.cancelled() && outcome instanceof AttemptLoop.Answer<Void> a) {
            // the head came as the client left: nothing to relay it to
            a.close();
            a.trace().end(a.status());
            outcome = new AttemptLoop.Abandoned<>();
        }
        switch (outcome) {
            case AttemptLoop.Answer<Void> a -> relay(req, sink, a, deadline, key);
            case AttemptLoop.Failed<Void> f -> throw f.timeout()
                    ? RouterException.upstream(ErrorKind.GATEWAY_TIMEOUT, "Worker " + f.worker().id()
                            + " did not answer in time", f.cause())
                    : RouterException.upstream(ErrorKind.BAD_GATEWAY, "Upstream request failed: " + f.cause().getMessage()
                            + f.note(), f.cause());
            case AttemptLoop.NoWorker<Void> n -> throw noWorker(n);
            case AttemptLoop.Abandoned<Void> ignored -> sink.clientGone();
        }
    }

    /**
     * A client hang-up while a call waits for its answer's head. Each attempt's connection is closed by its own
     * {@link Cancellation}, which is forgotten (under this object's lock) as soon as the attempt's outcome is known:
     * the connection may then go back to the pool and serve another request, so a late hang-up must not close it.
     */
    private static final class HangUp {
        /** Fired when the client left; never bound to a connection (the attempt loop only reads it). */
        final Cancellation left = new Cancellation();
        /** A lock, not a monitor: cancelling closes a socket, which may park (a pinned carrier on JDK 21). */
        private final ReentrantLock lock = new ReentrantLock();
        private Cancellation attempt;

        void clientLeft() {
            lock.lock();
            try {
                left.cancel();
                if (attempt != null) {
                    attempt.cancel();
                }
            } finally {
                lock.unlock();
            }
        }

        /** A new attempt's cancellation (already fired when the client has left). */
        Cancellation attempt() {
            lock.lock();
            try {
                attempt = new Cancellation();
                if (left.cancelled()) {
                    attempt.cancel();
                }
                return attempt;
            } finally {
                lock.unlock();
            }
        }

        void attemptOver() {
            lock.lock();
            try {
                attempt = null;
            } finally {
                lock.unlock();
            }
        }
    }

    private static void closeQuietly(AutoCloseable watch) {
        try {
            watch.close();
        } catch (Exception ignored) {
            // a watch handle only stops watching
        }
    }

    private void relay(ProxyRequest req, ClientSink sink, AttemptLoop.Answer<Void> a, long deadline,
                       RequestRoutingKey key) {
        try {
            if (decisionHeader) {
                sink.header(DECISION_HEADER, explain(a.decision(), a.attempt()));
            }
        } catch (RuntimeException e) { // relay() owns the answer only once it runs
            a.close();
            a.trace().end(a.status());
            throw e;
        }
        int predicted = a.decision().predictedCached();
        UsageTap usage = cacheCheck != null && predicted >= 0 ? new UsageTap() : null;
        // a tokenized chat's answer comes back as history next turn: its text is collected to be encoded ahead
        AnswerText answer = key.tokenized() && a.status() == 200 && req.rawPath().endsWith("/v1/chat/completions")
                && promptIds.wantsAnswer(req) ? new AnswerText() : null;
        try {
            relay.relay(req, sink, a.worker(), a.lease(), a.response(), a.sentAt(), deadline,
                    both(usage == null ? null : usage.bodyHook(), answer == null ? null : answer.bodyHook()),
                    both(usage == null ? null : usage.eventHook(), answer == null ? null : answer.eventHook()));
        } finally {
            a.trace().end(a.status());
        }
        if (usage != null && usage.reported() != UsageTap.NO_USAGE) {
            cacheCheck.observed(a.worker().id(), predicted, usage.reported());
        }
        String text = answer == null ? null : answer.text();
        if (text != null) {
            Thread.ofVirtual().name("answer-tokenizer").start(() -> promptIds.answered(req, text));
        }
    }

    private static UnaryOperator<byte[]> both(UnaryOperator<byte[]> first, UnaryOperator<byte[]> second) {
        if (first == null) {
            return second;
        }
        return second == null ? first : b -> second.apply(first.apply(b));
    }

    private static RouterException noWorker(AttemptLoop.NoWorker<?> n) {
        if (n.lastFailure() != null) {
            return RouterException.upstream(ErrorKind.BAD_GATEWAY, "Upstream request failed: "
                    + n.lastFailure() + " (no other worker left to try)", n.lastException());
        }
        return new RouterException(ErrorKind.SERVICE_UNAVAILABLE, n.circuitsOpen()
                ? "No available workers: every usable worker's circuit is open after repeated failures"
                : "No available workers (none registered or all unhealthy)");
    }

    private static boolean isSafe(String method) {
        return method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS");
    }


    private String explain(Decision d, Attempt attempt) {
        StringBuilder sb = new StringBuilder(96).append("policy=").append(policy.policy().name())
                .append("; worker=").append(d.worker().id()).append("; reason=").append(d.reason());
        if (d.match() >= 0) {
            sb.append("; match=").append(String.format(java.util.Locale.ROOT, "%.2f", d.match()));
        }
        if (d.detail() != null) {
            sb.append("; ").append(d.detail());
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

}
