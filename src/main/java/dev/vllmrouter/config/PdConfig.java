package dev.vllmrouter.config;

import java.util.List;

import dev.vllmrouter.common.WorkerUrl;

/**
 * Prefill/decode disaggregation settings ({@code --vllm-pd-disaggregation}).
 *
 * @param prefill          static prefill workers with their bootstrap ports ({@code --prefill URL [PORT|none]})
 * @param decode           static decode workers ({@code --decode URL})
 * @param prefillPolicy    {@code --prefill-policy} (default: {@code --policy}), its own instance
 * @param decodePolicy     {@code --decode-policy} (default: {@code --policy}), its own instance
 * @param kvConnector      {@code --kv-connector}: {@code nixl} (default), {@code mooncake} or {@code moriio}
 * @param discoveryAddress {@code --vllm-discovery-address host:port} for P2P-NCCL self-registration, or {@code null}
 * @param workerApiKey     the key the prefill/decode workers get as {@code Authorization: Bearer}: {@code --api-key},
 *                         else {@code OPENAI_API_KEY} (vllm-router's), else {@code null}
 */
public record PdConfig(List<Prefill> prefill, List<WorkerUrl> decode, PolicyConfig prefillPolicy,
                       PolicyConfig decodePolicy, String kvConnector, String discoveryAddress,
                       String workerApiKey) {

    /** A prefill worker and its Mooncake bootstrap port ({@code -1}: none given). */
    public record Prefill(WorkerUrl url, int bootstrapPort) {
    }

    public PdConfig {
        prefill = List.copyOf(prefill);
        decode = List.copyOf(decode);
    }

    public boolean mooncake() {
        return kvConnector.equals("mooncake");
    }

    /** MoRI-IO: engines register over ZeroMQ with their transfer mode (READ or WRITE). */
    public boolean moriio() {
        return kvConnector.equals("moriio");
    }
}
