package dev.vllmrouter.pd;

import java.io.IOException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.vllmrouter.discovery.MoriioFleet;
import dev.vllmrouter.fault.RetryDecision;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.proxy.AttemptLoop;
import dev.vllmrouter.proxy.ProxyRequest;
import dev.vllmrouter.proxy.RequestId;
import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.upstream.Cancellation;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Worker;

/** The prefill leg: the client's request cut to one token, with this attempt's request id. */
final class PrefillLeg extends AttemptLoop.PolicyLeg<PrefillLeg.Prefilled> {
    /**
     * A prefill's answer as the decode needs it.
     *
     * @param json       the parsed 2xx answer, or {@code null} for any other status
     * @param bytes      the answer as it came
     * @param requestId  the {@code X-Request-Id} both legs carry
     * @param transferId Mooncake's transfer id, or {@code null}
     */
    record Prefilled(JsonNode json, byte[] bytes, String requestId, String transferId) {
    }

    private final PdCalls calls;
    private final ProxyRequest req;
    private final ObjectNode body;
    private final Worker decode;
    private final String target;
    private final long deadline;
    private final Cancellation clientLeft;
    private final MoriioFleet.View fleet;
    private String requestId;
    private String transferId;

    /** @param fleet the MoRI-IO fleet (READ mode), or {@code null} */
    PrefillLeg(PdCalls calls, ProxyRequest req, RoutingKey key, ObjectNode body, Worker decode, String target,
               long deadline, Cancellation clientLeft, MoriioFleet.View fleet) {
        super(calls.prefillPolicy(), key, req.facts().model());
        this.calls = calls;
        this.req = req;
        this.body = body;
        this.decode = decode;
        this.target = target;
        this.deadline = deadline;
        this.clientLeft = clientLeft;
        this.fleet = fleet;
    }

    @Override
    public String phase() {
        return "prefill";
    }

    @Override
    public UpstreamResponse send(Worker pw, UpstreamSpan trace) {
        requestId = PdRequestId.of(pw, decode, calls.random());
        ObjectNode params;
        if (fleet != null) {
            transferId = PdRequestId.moriioTransferId(calls.random());
            MoriioFleet.Engine d = fleet.engine(decode.hostPort());
            params = PdRequests.moriioPrefillParams(transferId, d.tpSize(), d.dpSize(),
                    Math.max(0, decode.dpRank()));
        } else if (calls.mooncake() != null) {
            transferId = PdRequestId.transferId(calls.random());
            params = PdRequests.mooncakePrefillParams(transferId);
        } else {
            transferId = null;
            params = PdRequests.nixlPrefillParams();
        }
        byte[] bytes = PdCalls.bytes(PdRequests.prefill(body, req.rawPath(), params));
        String id = requestId;
        return calls.client().send(pw.id(), "POST", pw.baseUrl(), target,
                h -> calls.headerRules().toWorker(req.headers(), RequestId.of(id), pw.dpRank(), "application/json",
                        trace, h), bytes, calls.timeout(deadline), clientLeft);
    }

    @Override
    public Prefilled read(Worker pw, UpstreamResponse up) throws IOException {
        byte[] answer = up.body().readAllBytes();
        JsonNode json = null;
        if (up.status() / 100 == 2) {
            try {
                json = PdCalls.JSON.readTree(answer);
            } catch (IOException e) {
                throw new IOException("prefill answer is not JSON", e);
            }
        }
        return new Prefilled(json, answer, requestId, transferId);
    }

    @Override
    public void outcome(Worker pw, int status) {
        calls.metrics().pdPrefill(pw.id(), status / 100 == 2
                || (status / 100 == 4 && !RetryDecision.isRetryableStatus(status)));
    }
}
