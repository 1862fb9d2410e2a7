package dev.vllmrouter.pd;

import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.proxy.AttemptLoop;
import dev.vllmrouter.proxy.ProxyRequest;
import dev.vllmrouter.proxy.RequestId;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.upstream.Cancellation;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

/**
 * The decode leg: the client's own request plus the prefill's {@code kv_transfer_params}. Its first worker is
 * the one the request id names; under P2P-NCCL it is the only one (the prefill pushed the KV cache there), called
 * whatever its circuit says.
 */
final class DecodeLeg extends AttemptLoop.PolicyLeg<Void> {
    private final PdCalls calls;
    private final ProxyRequest req;
    private final byte[] bytes;
    private final int prefillRank;
    private final String requestId;
    private final String target;
    private final long deadline;
    private final boolean pinned;
    private final Cancellation stop;
    private Decision first;

    /**
     * @param pinned the first worker is the only one (P2P-NCCL, MoRI-IO WRITE)
     * @param stop   aborts the call until its head is in
     */
    DecodeLeg(PdCalls calls, ProxyRequest req, RoutingKey key, Decision first, byte[] bytes, int prefillRank,
              String requestId, String target, long deadline, boolean pinned, Cancellation stop) {
        super(calls.decodePolicy(), key, req.facts().model());
        this.calls = calls;
        this.req = req;
        this.first = first;
        this.bytes = bytes;
        this.prefillRank = prefillRank;
        this.requestId = requestId;
        this.target = target;
        this.deadline = deadline;
        this.pinned = pinned;
        this.stop = stop;
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
        return calls.client().send(dw.id(), "POST", dw.baseUrl(), target,
                h -> calls.headerRules().toWorker(req.headers(), RequestId.of(requestId), rank, "application/json",
                        trace, h), bytes, calls.timeout(deadline), stop);
    }

    @Override
    public void outcome(Worker dw, int status) {
        calls.metrics().pdDecode(dw.id(), status);
    }
}
