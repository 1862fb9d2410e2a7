package dev.vllmrouter.kvevents;

import java.util.List;

import dev.vllmrouter.kvindex.BlockKeys;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.kvindex.Medium;
import dev.vllmrouter.worker.Worker;

/**
 * One subscribed source: its sequence, what the index can be trusted for, its counters, and how its batches are
 * applied to the {@link KvIndex}.
 *
 * <p>Applying a batch: {@code BlockStored} of the indexed KV-cache group (the first full-attention group a batch
 * names; events without a group are group 0, events of a sliding-window or other group are ignored, since their
 * blocks are evicted apart from the prefix) goes to {@link KvIndex#stored} with each block's extra keys reduced to a
 * digest (the leading LoRA name dropped: the adapter seeds the chain already); {@code BlockRemoved} of that group to
 * {@link KvIndex#removed}; {@code AllBlocksCleared} drops the source's blocks, after which the index knows the
 * engine's cache exactly.
 *
 * <p>State (see {@link SourceState}) is recomputed by {@link #refresh} on the subscriber thread and read through
 * volatile fields. Not thread-safe otherwise: every other method runs on the subscriber thread.
 */
final class KvSource {
    final String id;
    final Worker worker;
    final String endpoint;
    final String replayEndpoint;
    final SequenceTracker sequence = new SequenceTracker();

    /** The KV-cache group indexed (the first full-attention group seen), or {@code null} before the first store. */
    private Integer group;
    /** The index holds everything the engine stored since a known state. */
    private boolean complete;
    private String incompleteReason = "no batch yet";
    /** A batch has been applied since the connection was last (re)established. */
    private boolean receiving;
    private long processedAtLastEvent;
    private long trafficSinceNanos = -1;
    private volatile boolean demoted;

    /** The replay on first connection was asked for (once per source). */
    boolean joinReplayTried;
    volatile boolean connected;
    volatile SourceState state = SourceState.FALLBACK;
    volatile String reason = "no batch yet";
    volatile long lastSequence = -1;
    volatile long lastEventNanos;
    volatile long batches;
    volatile long events;
    volatile long gaps;
    volatile long replays;
    volatile long replayFailures;
    volatile long resets;
    volatile long decodeErrors;

    KvSource(Worker worker, String endpoint, String replayEndpoint) {
        this.id = worker.id();
        this.worker = worker;
        this.endpoint = endpoint;
        this.replayEndpoint = replayEndpoint;
    }

    /** Applies one decoded batch (number {@code seq}) to the index. */
    void apply(long seq, KvEvent.Batch batch, KvIndex index, long now) {
        long applied = 0;
        for (KvEvent e : batch.events()) {
            switch (e) {
                case KvEvent.BlockStored s -> {
                    if (s.specKind() != null && !s.specKind().equals("full_attention")) {
                        continue;
                    }
                    int g = s.groupIdx() == null ? 0 : s.groupIdx();
                    if (group == null) {
                        group = g;
                    } else if (group != g) {
                        continue;
                    }
                    index.stored(id, s.blockHashes(), s.parentHash(), s.tokenIds(), s.blockSize(), s.loraName(),
                            digests(s), Medium.parse(s.medium()));
                    applied++;
                }
                case KvEvent.BlockRemoved r -> {
                    if (r.groupIdx() != null && group != null && !r.groupIdx().equals(group)) {
                        continue;
                    }
                    index.removed(id, r.blockHashes(), Medium.parse(r.medium()));
                    applied++;
                }
                case KvEvent.AllBlocksCleared c -> {
                    index.reset(id);
                    markComplete();
                    applied++;
                }
                case KvEvent.Unknown u -> { }
            }
        }
        events += applied;
        batches++;
        received(seq, now);
    }

    /** A batch numbered {@code seq} was dealt with (applied, or found undecodable). */
    void received(long seq, long now) {
        sequence.applied(seq);
        lastSequence = seq;
        lastEventNanos = now;
        processedAtLastEvent = worker.processed();
        trafficSinceNanos = -1;
        receiving = true;
    }

    /**
     * The engine's replay buffer was empty on joining: it has published nothing, its cache is empty, and the index
     * (empty) knows that exactly.
     */
    void knownEmpty(long now) {
        markComplete();
        lastEventNanos = now;
        processedAtLastEvent = worker.processed();
        trafficSinceNanos = -1;
        receiving = true;
    }

    /** The index now knows everything this engine holds. */
    void markComplete() {
        complete = true;
        incompleteReason = "";
    }

    /** Blocks stored before now may be missing from the index. */
    void markIncomplete(String why) {
        complete = false;
        incompleteReason = why;
    }

    /** The connection to the publisher went down: nothing is known until the next batch shows what was missed. */
    void disconnected() {
        connected = false;
        receiving = false;
    }

    /** The closed loop's hook: predictions kept missing ({@code true}), or agree again ({@code false}). */
    void demote(boolean on) {
        demoted = on;
    }

    /** Recomputes the state at {@code now}; a worker that got requests but sent no batch for {@code staleNanos} is stale. */
    void refresh(long now, long staleNanos) {
        long processed = worker.processed();
        if (processed > processedAtLastEvent && trafficSinceNanos < 0) {
            trafficSinceNanos = now;
        }
        boolean stale = trafficSinceNanos >= 0 && now - trafficSinceNanos >= staleNanos;
        SourceState next;
        String why;
        if (!connected) {
            next = SourceState.FALLBACK;
            why = "not connected to " + endpoint;
        } else if (!receiving) {
            next = SourceState.FALLBACK;
            why = batches == 0 ? "no batch yet" : "no batch since the connection came back";
        } else if (stale) {
            next = SourceState.FALLBACK;
            why = "no batch for " + (now - trafficSinceNanos) / 1_000_000_000L + " s while serving requests";
        } else if (!complete) {
            next = SourceState.DEGRADED;
            why = incompleteReason;
        } else if (demoted) {
            next = SourceState.DEGRADED;
            why = "predictions keep missing";
        } else {
            next = SourceState.EXACT;
            why = "";
        }
        reason = why;
        state = next;
    }

    SourceStatus status(long now, long blocks) {
        long last = lastEventNanos;
        return new SourceStatus(id, endpoint, state, reason, connected, lastSequence,
                batches == 0 ? -1 : (now - last) / 1e9, batches, events, gaps, replays, replayFailures, resets,
                decodeErrors, blocks);
    }

    private static long[] digests(KvEvent.BlockStored s) {
        List<List<String>> extra = s.extraKeys();
        if (extra == null) {
            return null;
        }
        long[] out = new long[extra.size()];
        String lora = s.loraName() == null ? null : "s:" + s.loraName();
        for (int i = 0; i < out.length; i++) {
            List<String> parts = extra.get(i);
            if (lora != null && !parts.isEmpty() && parts.get(0).equals(lora)) {
                parts = parts.subList(1, parts.size());
            }
            out[i] = BlockKeys.extraDigest(parts);
        }
        return out;
    }
}
