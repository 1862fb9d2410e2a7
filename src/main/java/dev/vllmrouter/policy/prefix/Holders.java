package dev.vllmrouter.policy.prefix;

/**
 * The tenants holding one node, as a {@code long[]} sorted by tenant id, each entry packing
 * {@code (tenantId << STAMP_BITS) | stamp}: one array per node, 8 bytes per (node, tenant), with the tenant's
 * last-insert stamp kept exactly rather than approximated per node.
 * <p>Invariant: ids strictly increase along the array; an array, once published to readers, never changes its ids
 * (membership changes copy it). Writers refresh stamps in place. A reader racing with such a plain 64-bit store may in
 * theory see it torn into two 32-bit halves, but the id lives entirely in the high half, which the store does not
 * change, so readers always see correct ids.
 * <p>Limits: {@link #MAX_TENANTS} = 65,536 tenants at once; stamps are 47-bit insert sequence numbers (1.4 * 10^14
 * inserts, 4 years at a million inserts a second) after which they stop advancing and LRU order degrades.
 */
final class Holders {
    static final int STAMP_BITS = 47;
    static final long MAX_STAMP = (1L << STAMP_BITS) - 1;
    static final int MAX_TENANTS = 1 << 16;
    static final long[] NONE = new long[0];

    private Holders() {
    }

    static int id(long entry) {
        return (int) (entry >>> STAMP_BITS);
    }

    static long stamp(long entry) {
        return entry & MAX_STAMP;
    }

    static long entry(int id, long stamp) {
        return ((long) id << STAMP_BITS) | stamp;
    }

    /** Index of {@code id} in {@code holders}, or {@code -(insertionPoint + 1)} when absent. */
    static int indexOf(long[] holders, int id) {
        int lo = 0;
        int hi = holders.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int midId = id(holders[mid]);
            if (midId < id) {
                lo = mid + 1;
            } else if (midId > id) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    /** A copy of {@code holders} with {@code entry} inserted at {@code index} (from {@link #indexOf}). */
    static long[] with(long[] holders, int index, long entry) {
        long[] out = new long[holders.length + 1];
        System.arraycopy(holders, 0, out, 0, index);
        out[index] = entry;
        System.arraycopy(holders, index, out, index + 1, holders.length - index);
        return out;
    }

    /** A copy of {@code holders} without the entry at {@code index}. */
    static long[] without(long[] holders, int index) {
        if (holders.length == 1) {
            return NONE;
        }
        long[] out = new long[holders.length - 1];
        System.arraycopy(holders, 0, out, 0, index);
        System.arraycopy(holders, index + 1, out, index, holders.length - index - 1);
        return out;
    }
}
