package dev.vllmrouter.discovery.k8s;

import java.time.Duration;

/**
 * What Kubernetes discovery tells the outside (metrics, tests). Called on discovery's own threads, never while a
 * lock of the registry is held; an implementation must be quick and must not throw (an exception is logged and
 * ignored).
 */
public interface DiscoveryListener {
    DiscoveryListener NONE = new DiscoveryListener() { };

    /**
     * The discovered set changed and was handed to the registry: {@code added} workers joined, {@code removed}
     * left (registry workers, so each data-parallel rank counts, as with ZeroMQ discovery; a worker whose role or
     * bootstrap port changed counts as removed and added), {@code workers} pods are discovered now. Meant for {@code vllm_router_discovery_updates_total} (+1 per call)
     * and {@code vllm_router_discovery_workers_added/removed}.
     */
    default void updated(int added, int removed, int workers) {
    }

    /** A list or watch request failed; discovery tries again after {@code delay}, the workers it knows stay. */
    default void retrying(Throwable cause, Duration delay) {
    }
}
