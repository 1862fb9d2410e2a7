package dev.vllmrouter.policy;

import java.util.Arrays;
import java.util.List;

import dev.vllmrouter.common.Hashing;
import dev.vllmrouter.worker.Worker;

/**
 * A consistent-hash ring (Karger et al.; the "ketama" layout): each member worker is placed at
 * {@value #VIRTUAL_NODES} points, {@code hash64("<worker id>:<i>")}, and a key belongs to the first point clockwise
 * from {@code hash64(key)}. When the key's owner cannot take the request (unavailable, or already tried), the walk
 * continues clockwise to the next <em>distinct</em> worker — so a worker leaving moves only its own keys, and an
 * unavailable worker's keys spread over the ring instead of piling onto one "first healthy" worker (vllm-router).
 * <p>Invariant: points are sorted by hash; every member has exactly {@value #VIRTUAL_NODES} points (a hash collision
 * keeps both). Immutable after construction; built once per snapshot and model, never per request.
 */
final class HashRing {
    /** vllm-router's fixed number of virtual nodes per worker. */
    static final int VIRTUAL_NODES = 160;

    private final List<Worker> members;
    private final long[] points;
    private final int[] owners;

    HashRing(List<Worker> members) {
        this.members = List.copyOf(members);
        int n = this.members.size() * VIRTUAL_NODES;
        long[] packedHash = new long[n];
        int[] owner = new int[n];
        int k = 0;
        StringBuilder sb = new StringBuilder();
        for (int m = 0; m < this.members.size(); m++) {
            String id = this.members.get(m).id();
            for (int v = 0; v < VIRTUAL_NODES; v++) {
                sb.setLength(0);
                sb.append(id).append(':').append(v);
                packedHash[k] = Hashing.hash64(sb);
                owner[k] = m;
                k++;
            }
        }
        // sort points by (unsigned) hash, carrying their owners along
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Long.compareUnsigned(packedHash[a], packedHash[b]);
            return c != 0 ? c : Integer.compare(owner[a], owner[b]);
        });
        points = new long[n];
        owners = new int[n];
        for (int i = 0; i < n; i++) {
            points[i] = packedHash[order[i]];
            owners[i] = owner[order[i]];
        }
    }

    boolean isEmpty() {
        return points.length == 0;
    }

    List<Worker> members() {
        return members;
    }

    /** Visits distinct members clockwise from {@code keyHash}'s position until {@code accept} returns true. */
    Worker walk(long keyHash, Acceptor accept) {
        if (points.length == 0) {
            return null;
        }
        int start = firstAtOrAfter(keyHash);
        boolean[] seen = members.size() <= 64 ? null : new boolean[members.size()];
        long seenBits = 0;
        int distinct = 0;
        for (int i = 0; i < points.length && distinct < members.size(); i++) {
            int m = owners[(start + i) % points.length];
            if (seen == null) {
                if ((seenBits & (1L << m)) != 0) {
                    continue;
                }
                seenBits |= 1L << m;
            } else {
                if (seen[m]) {
                    continue;
                }
                seen[m] = true;
            }
            distinct++;
            Worker w = members.get(m);
            if (accept.accept(w, distinct == 1)) {
                return w;
            }
        }
        return null;
    }

    /** Decides whether a visited member takes the key. */
    @FunctionalInterface
    interface Acceptor {
        /** @param owner whether {@code w} is the key's owner (the first distinct member clockwise) */
        boolean accept(Worker w, boolean owner);
    }

    /** The owner of {@code keyHash} (first member clockwise), or {@code null} for an empty ring. */
    Worker owner(long keyHash) {
        return points.length == 0 ? null : members.get(owners[firstAtOrAfter(keyHash)]);
    }

    private int firstAtOrAfter(long h) {
        int lo = 0;
        int hi = points.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(points[mid], h) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo == points.length ? 0 : lo;
    }
}
