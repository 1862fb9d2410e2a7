package dev.vllmrouter.worker;

import dev.vllmrouter.common.WorkerUrl;

/**
 * What a source says a worker is: its URL, its role, and for prefill workers the Mooncake bootstrap port; for workers
 * that registered over ZeroMQ, their KV-transfer address ({@code host:port}) used in P2P-NCCL request ids.
 *
 * @param bootstrapPort the prefill's bootstrap port, or {@code -1}
 * @param zmqAddress    the P2P-NCCL engine address, or {@code null}
 */
public record WorkerSpec(WorkerUrl url, Role role, int bootstrapPort, String zmqAddress) {
    public static WorkerSpec regular(WorkerUrl url) {
        return new WorkerSpec(url, Role.REGULAR, -1, null);
    }
}
