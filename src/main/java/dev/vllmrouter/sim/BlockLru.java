package dev.vllmrouter.sim;

import java.util.Arrays;

/**
 * A fixed-capacity LRU set of 64-bit block hashes without boxing or per-entry objects, for
 * {@link PrefixCacheModel}: several times cheaper per block than an access-ordered {@code LinkedHashMap<Long, ?>}
 * (no boxing, no node allocation, no pointer chasing through nodes).
 *
 * <p>Algorithm: entries live in slots {@code 0..capacity-1} ({@code keys}, and {@code prev}/{@code next} links
 * of a doubly linked list from least to most recently used). An open-addressing table (linear probing,
 * power-of-two size at least twice the capacity, so probes stay short) maps a key to its slot; deletion
 * shifts later entries of the probe run back (no tombstones), so lookups never degrade. Inserting into a full
 * set first evicts the least recently used entry and reuses its slot.
 *
 * <p>Invariants: {@code size <= capacity}; every slot {@code < size} is in both the table and the list exactly
 * once; table entries hold {@code slot + 1} (0 = empty).
 *
 * <p>Not thread-safe: the owner ({@link PrefixCacheModel}) guards it with its lock.
 */
final class BlockLru {
    private static final int NONE = -1;

    private final int capacity;
    private final long[] keys;
    private final int[] prev;
    private final int[] next;
    private final int[] table;
    private final int mask;
    private int size;
    private int head = NONE;
    private int tail = NONE;

    BlockLru(int capacity) {
        if (capacity < 1 || capacity > 1 << 28) { // table of at most 2^30 ints
            throw new IllegalArgumentException("capacity must be in 1..2^28, got " + capacity);
        }
        this.capacity = capacity;
        this.keys = new long[capacity];
        this.prev = new int[capacity];
        this.next = new int[capacity];
        int tableSize = Integer.highestOneBit(capacity) << 2;
        this.table = new int[tableSize];
        this.mask = tableSize - 1;
    }

    int size() {
        return size;
    }

    int capacity() {
        return capacity;
    }

    /** Whether the key is present; does not change the LRU order. */
    boolean contains(long key) {
        return table[find(key)] != 0;
    }

    /** {@link #touch} found the key present and moved it. */
    static final int PRESENT = 0;
    /** {@link #touch} inserted the key into free room. */
    static final int INSERTED = 1;
    /** {@link #touch} inserted the key in place of the least recently used one ({@link #lastEvicted()}). */
    static final int EVICTED = 2;

    private long lastEvicted;

    /**
     * Inserts the key as most recently used, or moves it there; evicts the least recently used when full.
     *
     * @return {@link #PRESENT}, {@link #INSERTED} or {@link #EVICTED}
     */
    int touch(long key) {
        int pos = find(key);
        int entry = table[pos];
        if (entry != 0) {
            int slot = entry - 1;
            if (slot != tail) {
                unlink(slot);
                linkLast(slot);
            }
            return PRESENT;
        }
        int slot;
        int outcome = INSERTED;
        if (size < capacity) {
            slot = size++;
        } else {
            slot = head;
            unlink(slot);
            lastEvicted = keys[slot];
            removeFromTable(find(keys[slot]));
            pos = find(key); // the removal may have shifted the run this key probes
            outcome = EVICTED;
        }
        keys[slot] = key;
        table[pos] = slot + 1;
        linkLast(slot);
        return outcome;
    }

    /** The key the last {@link #touch} that returned {@link #EVICTED} evicted. */
    long lastEvicted() {
        return lastEvicted;
    }

    /** The least recently used key; the set must not be empty. */
    long eldest() {
        if (size == 0) {
            throw new IllegalStateException("empty");
        }
        return keys[head];
    }

    void clear() {
        Arrays.fill(table, 0);
        size = 0;
        head = NONE;
        tail = NONE;
    }

    /** The table position holding {@code key}, or the empty position where it would go. */
    private int find(long key) {
        int i = home(key);
        while (true) {
            int entry = table[i];
            if (entry == 0 || keys[entry - 1] == key) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    private int home(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** Backward-shift deletion: moves each later entry of the run into the hole when its home allows it. */
    private void removeFromTable(int pos) {
        int hole = pos;
        int i = (pos + 1) & mask;
        while (table[i] != 0) {
            int home = home(keys[table[i] - 1]);
            if (((i - home) & mask) >= ((i - hole) & mask)) {
                table[hole] = table[i];
                hole = i;
            }
            i = (i + 1) & mask;
        }
        table[hole] = 0;
    }

    private void unlink(int slot) {
        int p = prev[slot];
        int n = next[slot];
        if (p == NONE) {
            head = n;
        } else {
            next[p] = n;
        }
        if (n == NONE) {
            tail = p;
        } else {
            prev[n] = p;
        }
    }

    private void linkLast(int slot) {
        prev[slot] = tail;
        next[slot] = NONE;
        if (tail == NONE) {
            head = slot;
        } else {
            next[tail] = slot;
        }
        tail = slot;
    }
}
