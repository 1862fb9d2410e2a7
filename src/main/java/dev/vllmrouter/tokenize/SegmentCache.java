package dev.vllmrouter.tokenize;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The token ids of text segments already encoded by one tokenizer (segments cut by {@link SpecialTokenCuts}, whose
 * ids do not depend on the text around them), so that a new turn of a conversation encodes only its new segments.
 * Keyed by the segment's text itself: a hit is an exact match ({@code String.equals}), never a hash collision, and
 * finding it costs a vectorised hash and compare of the text (a SHA-256 of the UTF-8 bytes cost several times more).
 * One cache per tokenizer, so the model is part of the key. Bounded by bytes (2 per character of text, 4 per id,
 * plus {@value #ENTRY_OVERHEAD} per entry), least recently used evicted first. Thread-safe: one short lock around
 * the map (no encoding under it).
 */
final class SegmentCache {
    /** Bytes counted per entry beyond its text and ids: map node, string and array headers. */
    static final int ENTRY_OVERHEAD = 96;

    private final long capacityBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final LinkedHashMap<String, int[]> map = new LinkedHashMap<>(256, 0.75f, true);
    private long bytes;
    private long hits;
    private long misses;
    private long evictions;

    SegmentCache(long capacityBytes) {
        this.capacityBytes = capacityBytes;
    }

    /** The cached ids of a segment (not to be modified), or {@code null}. */
    int[] get(String key) {
        lock.lock();
        try {
            int[] ids = map.get(key);
            if (ids == null) {
                misses++;
            } else {
                hits++;
            }
            return ids;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a segment is cached; counts as neither hit nor miss (the ahead-of-time encoding of answers asks). */
    boolean contains(String key) {
        lock.lock();
        try {
            return map.containsKey(key);
        } finally {
            lock.unlock();
        }
    }

    void put(String key, int[] ids) {
        long weight = weight(key, ids);
        if (weight > capacityBytes) {
            return;
        }
        lock.lock();
        try {
            int[] old = map.put(key, ids);
            bytes += weight - (old == null ? 0 : weight(key, old));
            var it = map.entrySet().iterator();
            while (bytes > capacityBytes && it.hasNext()) {
                Map.Entry<String, int[]> eldest = it.next();
                bytes -= weight(eldest.getKey(), eldest.getValue());
                it.remove();
                evictions++;
            }
        } finally {
            lock.unlock();
        }
    }

    void clear() {
        lock.lock();
        try {
            map.clear();
            bytes = 0;
        } finally {
            lock.unlock();
        }
    }

    private static long weight(String text, int[] ids) {
        return 2L * text.length() + 4L * ids.length + ENTRY_OVERHEAD;
    }

    PromptTokenizer.CacheStats stats() {
        lock.lock();
        try {
            return new PromptTokenizer.CacheStats(map.size(), bytes, capacityBytes, hits, misses, evictions);
        } finally {
            lock.unlock();
        }
    }
}
