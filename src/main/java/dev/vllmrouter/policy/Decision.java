package dev.vllmrouter.policy;

import dev.vllmrouter.worker.Worker;

/**
 * A policy's choice and why, for the decision header, logs and metrics.
 *
 * @param worker          the chosen worker
 * @param reason          a short machine-readable reason ({@code round_robin}, {@code lower_load},
 *                        {@code prefix_match}, ...)
 * @param match           for cache-aware choices, the fraction of the prompt the worker is believed to hold; else -1
 * @param predictedCached for choices made with the exact KV-event index, the prompt tokens the worker is predicted to
 *                        serve from its prefix cache (what its answer's {@code cached_tokens} should say); -1 when
 *                        there is no prediction to check
 * @param detail          more of the explanation for the decision header ({@code key=value; ...}), or {@code null}
 */
public record Decision(Worker worker, String reason, double match, int predictedCached, String detail) {
    public Decision(Worker worker, String reason, double match) {
        this(worker, reason, match, -1, null);
    }

    public Decision(Worker worker, String reason) {
        this(worker, reason, -1);
    }
}
