package dev.vllmrouter.pd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The body rewrites of prefill/decode disaggregation, as pure functions of the client's JSON (golden-tested):
 * <ul>
 *   <li><b>prefill</b>: the client's body asking for exactly one token and no stream — {@code max_tokens: 1},
 *       {@code max_completion_tokens: 1} when present, {@code min_tokens}/{@code min_completion_tokens} clamped to 1,
 *       for the Responses API {@code max_output_tokens: 1}, for {@code /inference/v1/generate} the same inside
 *       {@code sampling_params}; {@code stream: false}, no {@code stream_options}; plus the connector's
 *       {@code kv_transfer_params} (NIXL: "please keep the KV for a remote decode");</li>
 *   <li><b>decode</b>: the client's original body, untouched but for the {@code kv_transfer_params} that tell the
 *       decode worker where the KV cache is (NIXL: what the prefill answered; Mooncake: the transfer id and the
 *       prefill's bootstrap address and engine id; MoRI-IO: see below).</li>
 * </ul>
 * MoRI-IO (vLLM's {@code MoRIIOConnector}): both legs carry one {@code transfer_id} ({@code tx-<32 hex>}); the peer's
 * host and ports are left {@code null}, because the connector reads them from the request id
 * ({@code ___prefill_addr_<P zmq_address>___decode_addr_<D zmq_address>_<hex>}); the parallel sizes come from the
 * peers' registrations. WRITE mode (prefill and decode sent together, the prefill writes into the decode's blocks):
 * {@link #moriioPrefillParams} and {@link #moriioWriteDecodeParams}. READ mode (prefill first, the decode reads):
 * {@link #moriioPrefillParams}, then {@link #moriioReadDecodeParams} from the prefill's answer.
 */
public final class PdRequests {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private PdRequests() {
    }

    /** NIXL's prefill parameters: keep the KV for a remote decode, which will pull it. */
    public static ObjectNode nixlPrefillParams() {
        ObjectNode kv = JSON.objectNode();
        kv.put("do_remote_decode", true);
        kv.put("do_remote_prefill", false);
        kv.putNull("remote_engine_id");
        kv.putNull("remote_block_ids");
        kv.putNull("remote_host");
        kv.putNull("remote_port");
        return kv;
    }

    /** Mooncake's prefill parameters for one transfer. */
    public static ObjectNode mooncakePrefillParams(String transferId) {
        ObjectNode kv = JSON.objectNode();
        kv.put("do_remote_decode", true);
        kv.put("do_remote_prefill", false);
        kv.put("transfer_id", transferId);
        return kv;
    }

    /** Mooncake's decode parameters: where to fetch the KV of {@code transferId}. */
    public static ObjectNode mooncakeDecodeParams(String transferId, String bootstrapAddr, String engineId) {
        ObjectNode kv = JSON.objectNode();
        kv.put("do_remote_decode", false);
        kv.put("do_remote_prefill", true);
        kv.put("transfer_id", transferId);
        kv.put("remote_bootstrap_addr", bootstrapAddr);
        if (engineId == null) {
            kv.putNull("remote_engine_id");
        } else {
            kv.put("remote_engine_id", engineId);
        }
        return kv;
    }

    /**
     * MoRI-IO's prefill parameters (both modes): keep the KV of {@code transferId} for the decode worker, whose sizes
     * and DP rank are given ({@code remote_*} of the decode side).
     */
    public static ObjectNode moriioPrefillParams(String transferId, int decodeTpSize, int decodeDpSize,
                                                 int decodeDpRank) {
        ObjectNode kv = nixlPrefillParams();
        kv.put("transfer_id", transferId);
        kv.put("remote_dp_size", decodeDpSize);
        kv.put("remote_tp_size", decodeTpSize);
        kv.put("remote_dp_rank", decodeDpRank);
        return kv;
    }

    /**
     * MoRI-IO WRITE's decode parameters, sent while the prefill runs: the prefill writes the KV of {@code transferId}
     * into this worker's blocks; the sizes and DP rank are the prefill's.
     */
    public static ObjectNode moriioWriteDecodeParams(String transferId, int prefillTpSize, int prefillDpSize,
                                                     int prefillDpRank) {
        ObjectNode kv = JSON.objectNode();
        kv.put("do_remote_decode", false);
        kv.put("do_remote_prefill", true);
        kv.putNull("remote_engine_id");
        kv.putNull("remote_block_ids");
        kv.putNull("remote_host");
        kv.putNull("remote_port");
        kv.put("transfer_id", transferId);
        kv.put("remote_dp_size", prefillDpSize);
        kv.put("remote_tp_size", prefillTpSize);
        kv.put("tp_size", prefillTpSize);
        kv.put("remote_dp_rank", prefillDpRank);
        return kv;
    }

    /**
     * MoRI-IO READ's decode parameters: what the prefill answered ({@code remote_block_ids}, {@code remote_engine_id},
     * its host and ports, {@code transfer_id}), with the prefill's registered {@code remote_dp_size}; {@code null}
     * when the prefill answered none (the decode then recomputes the prompt).
     */
    public static ObjectNode moriioReadDecodeParams(JsonNode prefillParams, int prefillDpSize) {
        if (!(prefillParams instanceof ObjectNode p)) {
            return null;
        }
        ObjectNode kv = p.deepCopy();
        kv.put("remote_dp_size", prefillDpSize);
        return kv;
    }

    /** The prefill request body for the client's {@code body} on {@code route}. {@code body} is not modified. */
    public static ObjectNode prefill(ObjectNode body, String route, ObjectNode kvTransferParams) {
        ObjectNode p = body.deepCopy();
        switch (route) {
            case "/v1/responses" -> p.put("max_output_tokens", 1);
            case "/inference/v1/generate" -> {
                if (p.get("sampling_params") instanceof ObjectNode params) {
                    oneToken(params);
                } else {
                    p.putObject("sampling_params").put("max_tokens", 1).put("min_tokens", 1);
                }
            }
            default -> oneToken(p);
        }
        p.put("stream", false);
        p.remove("stream_options");
        p.set("kv_transfer_params", kvTransferParams);
        return p;
    }

    /** The decode request body: the client's own, plus {@code kvTransferParams} when there are any. */
    public static ObjectNode decode(ObjectNode body, JsonNode kvTransferParams) {
        ObjectNode d = body.deepCopy();
        if (kvTransferParams != null && !kvTransferParams.isNull() && !kvTransferParams.isMissingNode()) {
            d.set("kv_transfer_params", kvTransferParams);
        }
        return d;
    }

    private static void oneToken(ObjectNode o) {
        o.put("max_tokens", 1);
        if (o.has("max_completion_tokens")) {
            o.put("max_completion_tokens", 1);
        }
        clamp(o, "min_tokens");
        clamp(o, "min_completion_tokens");
    }

    private static void clamp(ObjectNode o, String field) {
        JsonNode v = o.get(field);
        if (v != null && v.isNumber() && v.asLong() > 1) {
            o.put(field, 1);
        }
    }
}
