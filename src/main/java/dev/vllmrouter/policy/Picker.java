package dev.vllmrouter.policy;

import dev.vllmrouter.worker.Worker;

/**
 * A policy's data-plane side: thread-safe, no I/O, no logging, no metrics. The caller takes the lease, records the
 * outcome and counts the decision.
 */
@FunctionalInterface
public interface Picker {
    /**
     * Chooses a worker for one attempt of a request.
     *
     * @param key     what the policy may look at in the request
     * @param attempt the attempt number and the workers already tried (never returned again)
     * @return the chosen worker, or {@code null} when no untried worker is available
     */
    Worker pick(RoutingKey key, Attempt attempt);
}
