package dev.vllmrouter.pd;

import java.io.IOException;

import dev.vllmrouter.fault.RetryDecision;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.proxy.AttemptLoop;
import dev.vllmrouter.proxy.ClientSink;
import dev.vllmrouter.proxy.ProxyRequest;
import dev.vllmrouter.proxy.RequestId;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.upstream.Cancellation;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Worker;

/**
 * MoRI-IO WRITE's prefill, run on its own virtual thread beside the decode ({@link PdForwarder}): one attempt on the
 * chosen prefill worker, never replaced (the request id and transfer id bind it to the decode); its answer is read
 * to the end and dropped, its status reported to the metrics and to its lease.
 */
final class WritePrefill {
    private static final Cancellation NEVER = new Cancellation();

    private WritePrefill() {
    }

    /** The WRITE prefill, one attempt on its worker; returns why it failed, or {@code null}. */
    static String run(PdCalls calls, ProxyRequest req, Decision prefill, String requestId, byte[] bytes, String target,
                      long deadline, UpstreamSpan span) {
        Worker pw = prefill.worker();
        AttemptLoop.Leg<Integer> leg = new AttemptLoop.Leg<>() {
            private boolean picked;

            @Override
            public String phase() {
                return "prefill";
            }

            @Override
            public String policyName() {
                return calls.prefillPolicy().policy().name();
            }

            @Override
            public Decision pick(Attempt attempt) {
                if (picked) {
                    return null;
                }
                picked = true;
                return prefill;
            }

            @Override
            public boolean untriedLeft(Attempt next) {
                return false;
            }

            @Override
            public UpstreamResponse send(Worker worker, UpstreamSpan trace) {
                return calls.client().send(pw.id(), "POST", pw.baseUrl(), target,
                        h -> calls.headerRules().toWorker(req.headers(), RequestId.of(requestId), pw.dpRank(),
                                "application/json", trace, h), bytes, calls.timeout(deadline));
            }

            @Override
            public Integer read(Worker worker, UpstreamResponse up) throws IOException {
                up.body().readAllBytes();
                return up.status();
            }

            @Override
            public void outcome(Worker worker, int status) {
                calls.metrics().pdPrefill(worker.id(), status / 100 == 2
                        || (status / 100 == 4 && !RetryDecision.isRetryableStatus(status)));
            }
        };
        try {
            return switch (calls.attempts().run(leg, Attempt.first(), deadline, new SpanSink(span), req.route(),
                    NEVER)) {
                case AttemptLoop.Answer<Integer> a -> {
                    try (a) {
                        a.lease().status(a.status());
                    } finally {
                        a.trace().end(a.status());
                    }
                    boolean clientError = a.status() / 100 == 4 && !RetryDecision.isRetryableStatus(a.status());
                    yield a.status() / 100 == 2 || clientError ? null : "status " + a.status() + " from " + pw.id();
                }
                case AttemptLoop.Failed<Integer> f -> f.cause().getMessage();
                case AttemptLoop.NoWorker<Integer> n -> "no prefill worker";
                case AttemptLoop.Abandoned<Integer> n -> "abandoned";
            };
        } catch (RuntimeException e) {
            return e.toString();
        }
    }

    /** The client side of a background prefill: only its (already created) trace span. */
    private record SpanSink(UpstreamSpan span) implements ClientSink {
        @Override
        public UpstreamSpan attempt(Worker worker, int attempt, String phase) {
            return span;
        }

        @Override
        public void status(int status) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void header(String name, String value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void send(byte[] body) {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.io.OutputStream stream() {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean committed() {
            return false;
        }
    }
}
