package dev.vllmrouter.policy.prefix;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Size-bounded LRU eviction of one tenant: drops it from its least-recently-inserted leaves (nodes it holds with no
 * child it holds) until it holds at most the budget.
 * <p>Algorithm: {@link #collect} makes one lock-free depth-first pass for all tenants over budget together,
 * gathering each one's leaves with its stamp and sorting them oldest first; it reads like a match, so inserts are
 * not held up by it. Then {@link #step}, under the writer lock, repeatedly takes the oldest leaf (from the sorted list
 * merged with a small heap of later arrivals) and drops the tenant from it; when the last held child of a node goes,
 * the node becomes a leaf and enters the heap. An insert stamps its whole path, so a parent's stamp is never older
 * than its children's and the evicted stamps never decrease: what remains is the tenant's most recently inserted
 * content. Each step evicts at most {@value #LEAVES_PER_STEP} leaves and unlinks the nodes it emptied before the lock
 * is released, so inserts wait at most one step. Candidates may go stale while the lock is free: a node replaced by a
 * split or unlinked ({@code dead}), no longer held, grown below, or refreshed (it goes back in the heap with its new
 * stamp) is checked before it is evicted; if the candidates run out while the tenant is still over budget, its leaves
 * are collected again, lock-free ({@value #MAX_COLLECTIONS} passes at most per sweep).
 * <p>Cost: a pass is O(node-tenant pairs of the nodes visited + h log h) for h leaves, one small record per leaf;
 * a step holds the lock for O(k log k) for k leaves evicted plus a scan of the children of each parent touched.
 * <p>Thread-safety: {@link #collect} is lock-free; {@link #step} requires the writer lock. An instance is used by one
 * thread.
 */
final class Eviction {
    static final int LEAVES_PER_STEP = 256;
    static final int MAX_COLLECTIONS = 3;

    /** A candidate leaf, known to be a leaf of the tenant if taken under the lock in step {@code checkedIn}. */
    record Leaf(long stamp, Node node, int checkedIn) implements Comparable<Leaf> {
        @Override
        public int compareTo(Leaf o) {
            return Long.compare(stamp, o.stamp);
        }
    }

    final Tenants.Tenant tenant;
    private final Node root;
    private final long budget;
    private List<Leaf> sorted;
    private int next;
    private int collections = 1;
    private int steps;
    private int unlinked;
    private final PriorityQueue<Leaf> later = new PriorityQueue<>();

    Eviction(Node root, Tenants.Tenant tenant, long budget, List<Leaf> sorted) {
        this.root = root;
        this.tenant = tenant;
        this.budget = budget;
        this.sorted = sorted;
    }

    /** Lock-free: the leaves of each tenant of {@code over}, in the same order, each list oldest first. */
    static List<List<Leaf>> collect(Node root, List<Tenants.Tenant> over) {
        int ids = over.stream().mapToInt(t -> t.id).max().orElse(-1) + 1;
        int[] slot = new int[ids];
        Arrays.fill(slot, -1);
        List<List<Leaf>> out = new ArrayList<>(over.size());
        for (int i = 0; i < over.size(); i++) {
            slot[over.get(i).id] = i;
            out.add(new ArrayList<>());
        }
        long[] heldBelow = new long[(ids + 63) >>> 6];
        ArrayDeque<Node> stack = new ArrayDeque<>();
        stack.push(root);
        while (!stack.isEmpty()) {
            Node x = stack.pop();
            long[] holders = x.holders;
            boolean marked = false;
            for (Node c : x.children) {
                boolean relevant = false;
                for (long e : c.holders) {
                    int id = Holders.id(e);
                    if (id < ids && slot[id] >= 0) {
                        heldBelow[id >>> 6] |= 1L << id;
                        relevant = true;
                    }
                }
                if (relevant) {
                    marked = true;
                    stack.push(c);
                }
            }
            for (long e : holders) { // the root's are empty
                int id = Holders.id(e);
                if (id < ids && slot[id] >= 0 && (heldBelow[id >>> 6] & (1L << id)) == 0) {
                    out.get(slot[id]).add(new Leaf(Holders.stamp(e), x, -1));
                }
            }
            if (marked) {
                Arrays.fill(heldBelow, 0);
            }
        }
        for (List<Leaf> leaves : out) {
            leaves.sort(null);
        }
        return out;
    }

    /** True while the tenant is over budget and candidates remain (or may be collected again). */
    boolean active() {
        return tenant.chars > budget && (next < sorted.size() || !later.isEmpty() || collections < MAX_COLLECTIONS);
    }

    /** True when the candidates ran out: call {@link #collectAgain} (without the lock) before the next step. */
    boolean needsLeaves() {
        return next >= sorted.size() && later.isEmpty();
    }

    /** Lock-free: the tenant's current leaves replace the exhausted candidates. */
    void collectAgain() {
        collections++;
        sorted = collect(root, List.of(tenant)).get(0);
        next = 0;
    }

    /** Under the writer lock: evicts up to {@value #LEAVES_PER_STEP} leaves, unlinking the nodes left empty. */
    void step() {
        int id = tenant.id;
        long chars = tenant.chars;
        Map<Node, int[]> heldChildren = new IdentityHashMap<>(); // valid only while the lock is held
        Set<Node> emptiedUnder = Collections.newSetFromMap(new IdentityHashMap<>());
        steps++;
        for (int taken = 0; chars > budget && taken < LEAVES_PER_STEP; taken++) {
            Leaf head = later.peek();
            boolean fromSorted = next < sorted.size() && (head == null || sorted.get(next).stamp() <= head.stamp());
            Leaf leaf = fromSorted ? sorted.get(next++) : later.poll();
            if (leaf == null) {
                break;
            }
            Node x = leaf.node();
            long[] h = x.holders;
            int at = Holders.indexOf(h, id);
            if (x.dead || at < 0 || (leaf.checkedIn() != steps && holdsAChild(x, id))) {
                continue; // stale: replaced, unlinked, no longer held (or a duplicate), or grown since collected
            }
            long stamp = Holders.stamp(h[at]);
            if (stamp > leaf.stamp()) {
                later.add(new Leaf(stamp, x, steps)); // refreshed since collected
                continue;
            }
            x.holders = Holders.without(h, at);
            chars -= x.label.length;
            Node parent = x.parent;
            if (x.holders.length == 0) {
                x.dead = true;
                unlinked++;
                emptiedUnder.add(parent);
            }
            if (parent == root) {
                continue; // the root is nobody's leaf
            }
            int[] left = heldChildren.get(parent);
            if (left == null) {
                left = new int[] {countHeld(parent.children, id)};
                heldChildren.put(parent, left);
            } else {
                left[0]--;
            }
            if (left[0] == 0) {
                later.add(new Leaf(parent.stampOf(id), parent, steps));
            }
        }
        tenant.chars = chars;
        for (Node p : emptiedUnder) {
            if (!p.dead) { // a dead parent goes with its own parent's prune
                p.pruneEmptyChildren();
            }
        }
    }

    /** Nodes unlinked since the last call. */
    int takeUnlinked() {
        int n = unlinked;
        unlinked = 0;
        return n;
    }

    private static boolean holdsAChild(Node x, int id) {
        for (Node c : x.children) {
            if (c.isHeldBy(id)) {
                return true;
            }
        }
        return false;
    }

    private static int countHeld(Node[] kids, int id) {
        int n = 0;
        for (Node c : kids) {
            if (c.isHeldBy(id)) {
                n++;
            }
        }
        return n;
    }
}
