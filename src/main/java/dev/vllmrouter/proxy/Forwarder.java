package dev.vllmrouter.proxy;

import java.lang.System.Logger.Level;
import java.time.Duration;

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
 * answered. A worker's own status (a 400, a 500) passes through with its body; the answer is relayed by
 * {@link AnswerRelay}.
 * <p>Every path releases the lease exactly once and closes the upstream response. The total time of one call is
 * bounded by {@code --request-timeout-secs} (a watchdog for streams; for plain bodies the socket timeout, capped by
 * what is left of the total), each silence by the read timeout.
 */
public final class Forwarder {
    private static final System.Logger LOG = System.getLogger(Forwarder.class.getName());
    static final int MAX_ATTEMPTS = 3;
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

    /** @param decisionHeader whether answers carry {@value #DECISION_HEADER} (it names internal worker URLs) */
    public Forwarder(PolicyRuntime policy, UpstreamClient client, HeaderRules headerRules, Deadlines deadlines,
                     Ticker ticker, Duration requestTimeout, Duration readTimeout, boolean decisionHeader) {
        this.policy = policy;
        this.client = client;
        this.headerRules = headerRules;
        this.ticker = ticker;
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.readTimeout = readTimeout;
        this.decisionHeader = decisionHeader;
        this.relay = new AnswerRelay(deadlines, ticker);
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
            relay.relay(req, sink, worker, lease, up, deadline, null);
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

}
