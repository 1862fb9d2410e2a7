package dev.vllmrouter.proxy;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.fault.Backoff;
import dev.vllmrouter.fault.FailedAttempt;
import dev.vllmrouter.fault.RetryConfig;
import dev.vllmrouter.fault.RetryDecision;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.upstream.Cancellation;
import dev.vllmrouter.upstream.UpstreamException;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

/**
 * The attempts of one upstream call, with one set of rules for every caller: the regular pipeline and both legs of
 * prefill/decode. Each attempt:
 * <ol>
 * <li>the {@link Leg} picks a worker the call has not tried; none left → {@link NoWorker};
 * <li>a lease on it ({@link Leg#lease}, through its circuit by default); an open circuit passes the worker over
 *     without counting an attempt;
 * <li>the leg sends the request; the answer is the leg's as soon as its head has a status that is not retried
 *     ({@link Leg#read} may first read what the leg needs, e.g. a prefill's whole JSON answer);
 * <li>a connection failure, a request not written whole, a connection lost before the head (or while
 *     {@link Leg#read} reads; not retried when the leg does not retry statuses: a request with side effects that may
 *     have reached the worker is not sent twice), or a retryable status
 *     (408, 429, 500, 502, 503, 504, when {@link Leg#retryStatuses}) goes to {@link RetryDecision}: a retry waits
 *     vllm-router's backoff — for a status, {@code max(backoff, Retry-After)} with the hint capped
 *     ({@link Backoff#delay(int, Duration)}) — never past the deadline, then tries another worker; no retry left →
 *     the last answer ({@link Answer} with {@link Answer#exhausted()}) or the failure ({@link Failed}). A read timeout
 *     is never retried. Metrics: {@code retry} per wait, {@code retries_exhausted} when attempts or workers ran out.
 * </ol>
 * <b>Invariant:</b> every failed attempt's lease and upstream response are closed here, in {@link #discard}, exactly
 * once, with the worker's outcome for its circuit (nothing when the call was {@linkplain Abandoned abandoned}); the
 * {@link Answer}'s lease and response belong to the caller, who relays ({@link AnswerRelay}) or closes them.
 * <p>Thread-safety: immutable; one {@link #run} per call, on the caller's thread.
 */
public final class AttemptLoop {
    private static final Cancellation NEVER = new Cancellation();

    private final RetryConfig retry;
    private final Backoff backoff;
    private final Sleeper sleeper;
    private final Ticker ticker;
    private final Clock clock;
    private final RouterMetrics metrics;

    /** @param clock reads {@code Retry-After} dates */
    public AttemptLoop(RetryConfig retry, RandomSource random, Sleeper sleeper, Ticker ticker, Clock clock,
                       RouterMetrics metrics) {
        this.retry = retry;
        this.backoff = new Backoff(retry, random);
        this.sleeper = sleeper;
        this.ticker = ticker;
        this.clock = clock;
        this.metrics = metrics;
    }

    /**
     * What a caller tells the loop about one kind of upstream call.
     *
     * @param <T> what {@link #read} makes of an answer the call keeps
     */
    public interface Leg<T> {
        /** {@code inference}, {@code prefill} or {@code decode}: the attempt's trace span and request log. */
        String phase();

        /** The policy's name, for the decision metric. */
        String policyName();

        /** The worker for {@code attempt} (never one it tried), or {@code null} when none is left. */
        Decision pick(Attempt attempt);

        /** Whether a worker is left that {@code next} has not tried and whose circuit lets calls through. */
        boolean untriedLeft(Attempt next);

        /**
         * The lease for an attempt on {@code worker}, or {@code null} when its circuit refuses the call (the worker
         * is passed over). A worker the call cannot do without (P2P-NCCL's decode) may be leased past its circuit.
         */
        default Lease lease(Worker worker) {
            return worker.tryAcquire();
        }

        /** Whether retryable statuses are retried (not on routes with side effects); failures before a head are. */
        default boolean retryStatuses() {
            return true;
        }

        /** Sends the request to {@code worker}; returns at the response head. */
        UpstreamResponse send(Worker worker, UpstreamSpan trace);

        /**
         * What the call keeps of an answer it takes (a status not retried), read before the attempt counts as
         * done; a failure here is the worker's, treated as a connection lost before the head. Default: nothing
         * (the caller relays the body).
         */
        default T read(Worker worker, UpstreamResponse up) throws IOException {
            return null;
        }

        /** The attempt on {@code worker} ended with {@code status}, or 0 when it failed without an answer. */
        default void outcome(Worker worker, int status) {
        }
    }

    /** A {@link Leg} whose workers come from a policy, for one routing key and model. */
    public abstract static class PolicyLeg<T> implements Leg<T> {
        protected final PolicyRuntime policy;
        protected final RoutingKey key;
        protected final String model;

        protected PolicyLeg(PolicyRuntime policy, RoutingKey key, String model) {
            this.policy = policy;
            this.key = key;
            this.model = model;
        }

        @Override
        public String policyName() {
            return policy.policy().name();
        }

        @Override
        public Decision pick(Attempt attempt) {
            return policy.pick(key, attempt);
        }

        @Override
        public boolean untriedLeft(Attempt next) {
            return policy.untriedLeft(model, next);
        }
    }

    /** How a call ended. */
    public sealed interface Outcome<T> permits Answer, Failed, NoWorker, Abandoned {
    }

    /**
     * A worker answered and the call keeps it: relay it, or close it ({@link #close()}), and end {@link #trace()}.
     *
     * @param answer    what {@link Leg#read} made of it ({@code null} when {@code exhausted} is set)
     * @param sentAt    {@link Ticker} time the request was sent (time to first token counts from it)
     * @param exhausted {@code null}, or why a retryable status was not retried (no attempt or worker left)
     */
    public record Answer<T>(Decision decision, Attempt attempt, Lease lease, UpstreamResponse response, T answer,
                            UpstreamSpan trace, long sentAt, RetryDecision exhausted) implements Outcome<T>, AutoCloseable {
        public Worker worker() {
            return decision.worker();
        }

        public int status() {
            return response.status();
        }

        /** Closes the response and releases the lease (for a caller that does not relay it). */
        @Override
        public void close() {
            try {
                response.close();
            } finally {
                lease.close();
            }
        }
    }

    /**
     * The last attempt failed without an answer and is not retried.
     *
     * @param worker   the worker of the last attempt
     * @param attempts how many attempts were made
     */
    public record Failed<T>(Worker worker, UpstreamException cause, RetryDecision verdict, int attempts)
            implements Outcome<T> {
        public boolean timeout() {
            return cause.kind() == UpstreamException.Kind.TIMEOUT;
        }

        /** {@code " (after N attempts: reason)"} when there was more than one attempt or no worker left, else "". */
        public String note() {
            return attempts == 1 && verdict.reason() != RetryDecision.Reason.NO_UNTRIED_WORKER ? ""
                    : " (after " + attempts + " attempts: " + verdict.reason().label() + ")";
        }
    }

    /**
     * No worker was left to pick.
     *
     * @param circuitsOpen  whether workers were passed over because their circuit was open
     * @param lastFailure   why the previous attempt failed, or {@code null} when none was made
     * @param lastException that failure when it was a transport failure, else {@code null}
     */
    public record NoWorker<T>(boolean circuitsOpen, String lastFailure, UpstreamException lastException)
            implements Outcome<T> {
    }

    /** The caller's {@link Cancellation} fired (its client left): nothing to answer. */
    public record Abandoned<T>() implements Outcome<T> {
    }

    /** {@link #run(Leg, Attempt, long, ClientSink, String, Cancellation)} from the first attempt, never cancelled. */
    public <T> Outcome<T> run(Leg<T> leg, long deadline, ClientSink sink, String route) {
        return run(leg, Attempt.first(), deadline, sink, route, NEVER);
    }

    /**
     * Runs attempts until one answer is kept or none is left.
     *
     * @param first    the first attempt (it may already exclude workers passed over)
     * @param deadline {@link Ticker} time no backoff sleeps past
     * @param sink     the client, for the attempts' trace spans
     * @param route    the route, for the retry metrics
     * @param stop     fired when the call is no longer wanted: a failure after it ends the loop as {@link Abandoned}
     */
    public <T> Outcome<T> run(Leg<T> leg, Attempt first, long deadline, ClientSink sink, String route,
                              Cancellation stop) {
        Attempt attempt = first;
        String lastFailure = null;
        UpstreamException lastException = null;
        boolean circuitsOpen = false;
        while (true) {
            Decision decision = leg.pick(attempt);
            if (decision == null) {
                return new NoWorker<>(circuitsOpen, lastFailure, lastException);
            }
            Worker worker = decision.worker();
            Lease lease = leg.lease(worker);
            if (lease == null) {
                circuitsOpen = true;
                attempt = attempt.skip(worker);
                continue;
            }
            metrics.decision(leg.policyName(), worker.id(), decision.reason());
            UpstreamSpan trace = sink.attempt(worker, attempt.number(), leg.phase());
            UpstreamResponse up = null;
            UpstreamException failure = null;
            long sentAt = ticker.nanos();
            try {
                up = leg.send(worker, trace);
                if (!(leg.retryStatuses() && RetryDecision.isRetryableStatus(up.status()))) {
                    T answer = leg.read(worker, up);
                    leg.outcome(worker, up.status());
                    return new Answer<>(decision, attempt, lease, up, answer, trace, sentAt, null);
                }
            } catch (UpstreamException e) {
                failure = e;
            } catch (IOException e) {
                failure = UpstreamException.classify(worker.id(), e);
            } catch (RuntimeException | Error e) {
                discard(lease, up, trace, null);
                throw e;
            }
            if (stop.cancelled()) {
                discard(lease, up, trace, null);
                return new Abandoned<>();
            }
            int status = failure == null ? up.status() : 0;
            Attempt next = attempt.next(worker);
            RetryDecision verdict = failure != null && failure.kind() == UpstreamException.Kind.IO
                    && !leg.retryStatuses()
                    // a request with side effects that may have reached the worker is not sent again (RFC 9110
                    // §9.2.2): only one that provably never did (no connection, not written whole) is
                    ? new RetryDecision(RetryDecision.Verdict.GIVE_UP, RetryDecision.Reason.MAY_HAVE_REACHED)
                    : RetryDecision.decide(new FailedAttempt(status,
                            failure == null ? FailedAttempt.Transport.NONE : transport(failure), 0, attempt.number(),
                            leg.untriedLeft(next)), retry);
            leg.outcome(worker, status);
            if (!verdict.retry()) {
                countExhausted(route, leg.phase(), verdict);
                if (failure == null) {
                    return new Answer<>(decision, attempt, lease, up, null, trace, sentAt, verdict);
                }
                lease.failed();
                discard(lease, up, trace, failure);
                return new Failed<>(worker, failure, verdict, attempt.number());
            }
            Duration wait;
            if (failure == null) {
                lease.status(status);
                wait = backoff.delay(attempt.number() - 1,
                        RetryDecision.parseRetryAfter(up.headers().first("Retry-After"), clock.instant()));
                lastFailure = worker.id() + " answered " + status;
                lastException = null;
            } else {
                lease.failed();
                wait = backoff.delay(attempt.number() - 1);
                lastFailure = failure.getMessage();
                lastException = failure;
            }
            discard(lease, up, trace, failure);
            metrics.retry(route, leg.phase(), attempt.number(), wait.toNanos());
            sleeper.pause(wait, deadline, ticker);
            attempt = next;
        }
    }

    /** The one place a failed attempt's response and lease are closed and its span ended. */
    private static void discard(Lease lease, UpstreamResponse up, UpstreamSpan trace, UpstreamException failure) {
        try {
            if (up != null) {
                up.close();
            }
        } finally {
            lease.close();
            if (failure != null) {
                trace.error(failure.getMessage());
            }
            trace.end(up == null ? 0 : up.status());
        }
    }

    /** A call that kept failing and has no attempt or worker left (not one whose failure is not retryable). */
    private void countExhausted(String route, String phase, RetryDecision verdict) {
        if (verdict.reason() == RetryDecision.Reason.ATTEMPTS_EXHAUSTED
                || verdict.reason() == RetryDecision.Reason.NO_UNTRIED_WORKER) {
            metrics.retriesExhausted(route, phase);
        }
    }

    private static FailedAttempt.Transport transport(UpstreamException e) {
        return switch (e.kind()) {
            case CONNECT -> FailedAttempt.Transport.CONNECT;
            case TIMEOUT -> FailedAttempt.Transport.READ_TIMEOUT;
            case SEND -> FailedAttempt.Transport.SEND;
            case IO -> FailedAttempt.Transport.LOST;
        };
    }
}
