package dev.vllmrouter.policy;

/**
 * A policy's data-plane side: thread-safe, no I/O, no logging, no metrics. The caller takes the lease, records the
 * outcome and counts the decision.
 */
@FunctionalInterface
public interface Picker {
    /**
     * Chooses a worker for one attempt of a request, among the available workers that serve the key's model.
     *
     * @param key     what the policy may look at in the request
     * @param attempt the attempt number and the workers already tried (never returned again)
     * @return the choice, or {@code null} when no untried worker is available
     */
    Decision pick(RoutingKey key, Attempt attempt);
}
