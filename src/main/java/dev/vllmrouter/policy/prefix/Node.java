package dev.vllmrouter.policy.prefix;

import java.util.Arrays;

/**
 * One node of {@link PrefixTree}: an edge label (the chars from the parent to this node), the tenants holding it and
 * its children.
 * <p>The label never changes (a split replaces the node by two new ones), so a reader that reached a node always
 * compares against the label that belongs there. {@link #children} (sorted by first char, first chars distinct) and
 * {@link #holders} are immutable arrays replaced as a whole by the single writer and published through volatile
 * fields; {@link #parent} and {@link #dead} are read and written only by the writer.
 */
final class Node {
    static final Node[] NO_CHILDREN = new Node[0];

    final char[] label;
    /** {@code label[0]}, copied so that a child lookup does not load the label array. */
    final char first;
    /** Writer-only; {@code null} for the root. */
    Node parent;
    /** Writer-only: set once the node is replaced (split) or unlinked, so stale references can be recognised. */
    boolean dead;
    volatile Node[] children;
    volatile long[] holders;

    Node(char[] label, Node parent, long[] holders, Node[] children) {
        this.label = label;
        this.first = label.length == 0 ? 0 : label[0];
        this.parent = parent;
        this.holders = holders;
        this.children = children;
    }

    static Node root() {
        return new Node(new char[0], null, Holders.NONE, NO_CHILDREN);
    }

    /** The child whose label starts with {@code c}, or {@code null}. Lock-free. */
    Node child(char c) {
        Node[] kids = children;
        int i = indexOf(kids, c);
        return i >= 0 ? kids[i] : null;
    }

    /** Index of the child starting with {@code c}, or {@code -(insertionPoint + 1)}. */
    static int indexOf(Node[] kids, char c) {
        int lo = 0;
        int hi = kids.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            char k = kids[mid].first;
            if (k < c) {
                lo = mid + 1;
            } else if (k > c) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    /** Writer: links a new child whose first char no current child has. */
    void addChild(Node child) {
        Node[] kids = children;
        int at = -indexOf(kids, child.first) - 1;
        Node[] out = new Node[kids.length + 1];
        System.arraycopy(kids, 0, out, 0, at);
        out[at] = child;
        System.arraycopy(kids, at, out, at + 1, kids.length - at);
        children = out;
    }

    /** Writer: replaces child {@code old} by {@code replacement}, which starts with the same char. */
    void replaceChild(Node old, Node replacement) {
        Node[] out = children.clone();
        out[indexOf(out, old.first)] = replacement;
        children = out;
    }

    /** Writer: unlinks every child that no tenant holds any more. */
    void pruneEmptyChildren() {
        Node[] kids = children;
        Node[] kept = new Node[kids.length];
        int n = 0;
        for (Node c : kids) {
            if (c.holders.length > 0) {
                kept[n++] = c;
            }
        }
        if (n != kids.length) {
            children = n == 0 ? NO_CHILDREN : Arrays.copyOf(kept, n);
        }
    }

    /**
     * Writer: replaces this node (a linked child) by an upper node holding its first {@code m} chars and a lower one
     * with the rest, both held by the same tenants with the same stamps; returns the upper one. This node is dead
     * afterwards; readers still on it see its old, consistent state.
     */
    Node split(int m) {
        long[] h = holders;
        Node upper = new Node(Arrays.copyOfRange(label, 0, m), parent, h.clone(), NO_CHILDREN);
        Node lower = new Node(Arrays.copyOfRange(label, m, label.length), upper, h, children);
        for (Node grandchild : lower.children) {
            grandchild.parent = lower;
        }
        upper.children = new Node[] {lower};
        parent.replaceChild(this, upper);
        dead = true;
        return upper;
    }

    /** Writer: makes tenant {@code id} hold this node, stamped {@code stamp}; true if it did not hold it before. */
    boolean hold(int id, long stamp) {
        long[] h = holders;
        int at = Holders.indexOf(h, id);
        if (at >= 0) {
            h[at] = Holders.entry(id, stamp); // in place: readers only read the unchanged id bits
            return false;
        }
        holders = Holders.with(h, -at - 1, Holders.entry(id, stamp));
        return true;
    }

    /** Stamp of tenant {@code id} on this node; the tenant must hold it. */
    long stampOf(int id) {
        long[] h = holders;
        return Holders.stamp(h[Holders.indexOf(h, id)]);
    }

    boolean isHeldBy(int id) {
        return Holders.indexOf(holders, id) >= 0;
    }
}
