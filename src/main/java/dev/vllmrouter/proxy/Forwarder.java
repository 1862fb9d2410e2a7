package dev.vllmrouter.proxy;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.fault.Backoff;
import dev.vllmrouter.fault.FailedAttempt;
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
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamException;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

/**
 * The regular request pipeline: pick a worker whose circuit lets the call through, hold a {@link Lease} on it, send
 * the client's bytes unchanged, relay the answer.
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
    private static final System.Logger LOG = System.getLogger(Forwarder.class.getName());
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
    private final RetryConfig retry;
    private final Backoff backoff;
    private final Sleeper sleeper;
    private final Clock clock;
    private final RouterMetrics metrics;

    /** @param decisionHeader whether answers carry {@value #DECISION_HEADER} (it names internal worker URLs) */
    public Forwarder(PolicyRuntime policy, UpstreamClient client, HeaderRules headerRules,
                     Ticker ticker, Duration requestTimeout, Duration readTimeout, boolean decisionHeader,
                     RetryConfig retry, RandomSource random, Sleeper sleeper, Clock clock, RouterMetrics metrics) {
        this.policy = policy;
        this.client = client;
        this.headerRules = headerRules;
        this.ticker = ticker;
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.readTimeout = readTimeout;
        this.decisionHeader = decisionHeader;
        this.relay = new AnswerRelay(ticker, metrics, false);
        this.metrics = metrics;
        this.retry = retry;
        this.backoff = new Backoff(retry, random);
        this.sleeper = sleeper;
        this.clock = clock;
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
        boolean statusRetryable = req.facts() != RequestFacts.NONE || isSafe(req.method().text());
        Attempt attempt = Attempt.first();
        UpstreamException lastFailure = null;
        boolean circuitsOpen = false;
        while (true) {
            Decision decision = policy.pick(key, attempt);
            if (decision == null) {
                throw noWorker(lastFailure, circuitsOpen);
            }
            Worker worker = decision.worker();
            Lease lease = worker.tryAcquire();
            if (lease == null) {
                circuitsOpen = true;
                attempt = attempt.skip(worker);
                continue;
            }
            metrics.decision(policy.policy().name(), worker.id(), decision.reason());
            UpstreamSpan trace = sink.attempt(worker, attempt.number(), "inference");
            long sentAt = ticker.nanos();
            UpstreamResponse up;
            try {
                up = client.send(worker.id(), req.method().text(), worker.baseUrl(), target,
                        h -> headerRules.toWorker(req.headers(), req.requestId(), worker.dpRank(),
                                req.asJson() ? "application/json" : null, trace, h),
                        req.body(), headTimeout(deadline));
            } catch (UpstreamException e) {
                lease.failed();
                lease.close();
                trace.error(e.getMessage());
                trace.end(0);
                RetryDecision verdict = RetryDecision.decide(new FailedAttempt(0, transport(e), 0, attempt.number(),
                        policy.untriedLeft(model, attempt.next(worker))), retry);
                if (e.kind() == UpstreamException.Kind.TIMEOUT) {
                    throw new RouterException(ErrorKind.GATEWAY_TIMEOUT, "Worker " + worker.id()
                            + " did not answer in time", e);
                }
                if (!verdict.retry()) {
                    countExhausted(req, verdict);
                    throw new RouterException(ErrorKind.BAD_GATEWAY, "Upstream request failed: " + e.getMessage()
                            + retriesNote(attempt, verdict), e);
                }
                LOG.log(Level.DEBUG, "request {0}: {1}; trying another worker", req.requestId(), e.getMessage());
                lastFailure = e;
                wait(req, attempt, backoff.delay(attempt.number() - 1), deadline);
                attempt = attempt.next(worker);
                continue;
            } catch (RuntimeException e) {
                lease.close();
                trace.end(0);
                throw e;
            }
            int status = up.status();
            if (statusRetryable && RetryDecision.isRetryableStatus(status)) {
                RetryDecision verdict = RetryDecision.decide(new FailedAttempt(status, FailedAttempt.Transport.NONE,
                        0, attempt.number(), policy.untriedLeft(model, attempt.next(worker))), retry);
                if (verdict.retry()) {
                    Duration retryAfter = RetryDecision.parseRetryAfter(up.headers().first("Retry-After"),
                            clock.instant());
                    lease.status(status);
                    up.close();
                    lease.close();
                    trace.end(status);
                    LOG.log(Level.DEBUG, "request {0}: {1} answered {2}; trying another worker", req.requestId(),
                            worker.id(), status);
                    wait(req, attempt, retryAfter == null ? backoff.delay(attempt.number() - 1)
                            : backoff.delay(attempt.number() - 1, retryAfter), deadline);
                    attempt = attempt.next(worker);
                    continue;
                }
                countExhausted(req, verdict);
            }
            try {
                if (decisionHeader) {
                    sink.header(DECISION_HEADER, explain(decision, attempt));
                }
            } catch (RuntimeException e) { // relay() owns `up` and the lease only once it runs
                up.close();
                lease.close();
                trace.end(status);
                throw e;
            }
            try {
                relay.relay(req, sink, worker, lease, up, sentAt, deadline, null);
            } finally {
                trace.end(status);
            }
            return;
        }
    }

    private void wait(ProxyRequest req, Attempt attempt, Duration backoff, long deadline) {
        metrics.retry(req.route(), attempt.number(), backoff.toNanos());
        sleeper.pause(backoff, deadline, ticker);
    }

    /** A request that kept failing and has no attempt or worker left (not one whose failure is not retryable). */
    private void countExhausted(ProxyRequest req, RetryDecision verdict) {
        if (verdict.reason() == RetryDecision.Reason.ATTEMPTS_EXHAUSTED
                || verdict.reason() == RetryDecision.Reason.NO_UNTRIED_WORKER) {
            metrics.retriesExhausted(req.route());
        }
    }

    private static RouterException noWorker(UpstreamException lastFailure, boolean circuitsOpen) {
        if (lastFailure != null) {
            return new RouterException(ErrorKind.BAD_GATEWAY, "Upstream request failed: "
                    + lastFailure.getMessage() + " (no other worker left to try)", lastFailure);
        }
        return new RouterException(ErrorKind.SERVICE_UNAVAILABLE, circuitsOpen
                ? "No available workers: every usable worker's circuit is open after repeated failures"
                : "No available workers (none registered or all unhealthy)");
    }

    private static String retriesNote(Attempt attempt, RetryDecision verdict) {
        return attempt.number() == 1 && verdict.reason() != RetryDecision.Reason.NO_UNTRIED_WORKER ? ""
                : " (after " + attempt.number() + " attempts: " + verdict.reason().label() + ")";
    }

    private static FailedAttempt.Transport transport(UpstreamException e) {
        return switch (e.kind()) {
            case CONNECT -> FailedAttempt.Transport.CONNECT;
            case TIMEOUT -> FailedAttempt.Transport.READ_TIMEOUT;
            case IO -> FailedAttempt.Transport.LOST;
        };
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
