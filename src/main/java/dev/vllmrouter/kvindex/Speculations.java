package dev.vllmrouter.kvindex;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@link KvIndex}'s routing-time guesses, apart from its event-fed blocks: own block key to the {@link Speculation}
 * (sources and expiries) made for it.
 *
 * <p>Invariant: at most {@code max} keys; a guess for a new key past that is dropped and counted ({@link #dropped}).
 * Values are immutable and swapped whole, so {@link #get} needs no lock; {@link #count} follows the map's size
 * (incremented once per key created, decremented once per key removed). Safe from any thread.
 */
final class Speculations {
    private final int max;
    private final ConcurrentHashMap<Long, Speculation> byKey = new ConcurrentHashMap<>();
    private final AtomicInteger count = new AtomicInteger();
    private final LongAdder dropped = new LongAdder();

    Speculations(int max) {
        this.max = max;
    }

    boolean isEmpty() {
        return byKey.isEmpty();
    }

    /** The guesses for {@code key}, expired ones included, or {@code null}. */
    Speculation get(long key) {
        return byKey.get(key);
    }

    /** Marks the blocks {@code keys[from..]} as held by source {@code number} until {@code expiry}. */
    void add(int number, long[] keys, int from, long expiry) {
        for (int b = Math.max(0, from); b < keys.length; b++) {
            long key = keys[b];
            Speculation[] created = new Speculation[1];
            byKey.compute(key, (k, old) -> {
                if (old == null) {
                    if (count.get() >= max) {
                        dropped.increment();
                        return null;
                    }
                    created[0] = Speculation.of(number, expiry);
                    return created[0];
                }
                return old.with(number, expiry);
            });
            if (created[0] != null) {
                count.incrementAndGet();
            }
        }
    }

    /** Drops the guesses expired at {@code now}, and the keys left without one. */
    void expire(long now) {
        for (Iterator<Map.Entry<Long, Speculation>> it = byKey.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, Speculation> e = it.next();
            Speculation kept = e.getValue().live(now);
            if (kept == null) {
                if (byKey.remove(e.getKey(), e.getValue())) {
                    count.decrementAndGet();
                }
            } else if (kept != e.getValue()) {
                byKey.replace(e.getKey(), e.getValue(), kept);
            }
        }
    }

    /** Keys with guesses now. */
    int count() {
        return count.get();
    }

    /** Guesses refused because the bound was reached. */
    long dropped() {
        return dropped.sum();
    }
}
