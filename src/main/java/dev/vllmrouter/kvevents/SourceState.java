package dev.vllmrouter.kvevents;

import java.util.Locale;

/**
 * How far the index can be trusted for one source (a worker, i.e. one data-parallel rank of a vLLM server).
 * <ul>
 *   <li>{@link #EXACT}: batches arrive in sequence and the index has seen this engine's cache from a known state (its
 *       first batch, sequence 0, or a replay from there, or an {@code AllBlocksCleared});</li>
 *   <li>{@link #DEGRADED}: batches arrive, but blocks stored before some point may be missing (the router joined a
 *       running engine, a gap could not be replayed, a batch could not be decoded), or predictions kept missing; the
 *       index under-reports such a worker, it never claims blocks the worker dropped;</li>
 *   <li>{@link #FALLBACK}: the index is not to be used for this worker: no batch yet, the connection to its publisher
 *       is down, or it was sent requests and no batch came for the stale time.</li>
 * </ul>
 */
public enum SourceState {
    EXACT, DEGRADED, FALLBACK;

    /** The lower-case name used in {@code /workers} and metrics docs. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The value of {@code vllm_router_kv_events_state}: 0 exact, 1 degraded, 2 fallback. */
    public int metricValue() {
        return ordinal();
    }
}
