package dev.vllmrouter.policy;

import dev.vllmrouter.worker.Worker;

/**
 * A policy's choice and why, for the decision header, logs and metrics.
 *
 * @param worker the chosen worker
 * @param reason a short machine-readable reason ({@code round_robin}, {@code lower_load}, {@code prefix_match}, ...)
 * @param match  for cache-aware choices, the fraction of the prompt the worker is believed to hold; else -1
 */
public record Decision(Worker worker, String reason, double match) {
    public Decision(Worker worker, String reason) {
        this(worker, reason, -1);
    }
}
