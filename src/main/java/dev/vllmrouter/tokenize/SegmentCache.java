package dev.vllmrouter.tokenize;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The token ids of text segments already encoded by one tokenizer (segments cut by {@link SpecialTokenCuts}, whose
 * ids do not depend on the text around them), so that a new turn of a conversation encodes only its new segments.
 * Keyed by the first 128 bits of the SHA-256 of the segment's UTF-8 bytes (two different segments share a key
 * with probability about n²/2^129 for n segments ever seen: never, in practice); one cache per tokenizer, so the
 * model is part of the key. Bounded by bytes (4 per id plus {@value #ENTRY_OVERHEAD} per entry), least recently
 * used evicted first. Thread-safe: one short lock around the map (no encoding or hashing under it).
 */
final class SegmentCache {
    /** Bytes counted per entry beyond its ids: key, map node, array header. */
    static final int ENTRY_OVERHEAD = 96;

    /** A segment's key. */
    record Key(long high, long low) {
    }

    private final long capacityBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final LinkedHashMap<Key, int[]> map = new LinkedHashMap<>(256, 0.75f, true);
    private long bytes;
    private long hits;
    private long misses;
    private long evictions;

    SegmentCache(long capacityBytes) {
        this.capacityBytes = capacityBytes;
    }

    /** A new digest for {@link #key}; one per request (a digest is not thread-safe). */
    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    static Key key(MessageDigest digest, String segment) {
        byte[] h = digest.digest(segment.getBytes(StandardCharsets.UTF_8));
        return new Key(longAt(h, 0), longAt(h, 8));
    }

    private static long longAt(byte[] b, int at) {
        long v = 0;
        for (int i = at; i < at + 8; i++) {
            v = (v << 8) | (b[i] & 0xff);
        }
        return v;
    }

    /** The cached ids of a segment (not to be modified), or {@code null}. */
    int[] get(Key key) {
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

    void put(Key key, int[] ids) {
        long weight = weight(ids);
        if (weight > capacityBytes) {
            return;
        }
        lock.lock();
        try {
            int[] old = map.put(key, ids);
            bytes += weight - (old == null ? 0 : weight(old));
            var it = map.entrySet().iterator();
            while (bytes > capacityBytes && it.hasNext()) {
                Map.Entry<Key, int[]> eldest = it.next();
                bytes -= weight(eldest.getValue());
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

    private static long weight(int[] ids) {
        return 4L * ids.length + ENTRY_OVERHEAD;
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
