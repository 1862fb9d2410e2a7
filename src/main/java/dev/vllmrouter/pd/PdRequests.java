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
 *       prefill's bootstrap address and engine id).</li>
 * </ul>
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
