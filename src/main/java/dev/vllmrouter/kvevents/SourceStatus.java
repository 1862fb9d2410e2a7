package dev.vllmrouter.kvevents;

/**
 * A reading of one source's KV-event stream, for {@code /workers} and the metrics.
 *
 * @param worker         the worker id ({@code url} or {@code url@rank})
 * @param endpoint       the publisher address subscribed to
 * @param state          exact, degraded or fallback
 * @param reason         why the state is not exact (empty when it is)
 * @param connected      whether the connection to the publisher is up
 * @param lastSequence   the last batch number applied, or -1
 * @param ageSeconds     seconds since the last batch, or -1 when none came
 * @param batches        batches applied
 * @param events         events applied
 * @param gaps           jumps in the sequence
 * @param replays        gaps closed by a replay
 * @param replayFailures replays that could not close a gap
 * @param resets         times the source's index was dropped (gap without replay, restart, bad batch)
 * @param decodeErrors   messages or batches that could not be decoded
 * @param blocks         blocks the index holds for the source
 */
public record SourceStatus(String worker, String endpoint, SourceState state, String reason, boolean connected,
                           long lastSequence, double ageSeconds, long batches, long events, long gaps, long replays,
                           long replayFailures, long resets, long decodeErrors, long blocks) {
}
