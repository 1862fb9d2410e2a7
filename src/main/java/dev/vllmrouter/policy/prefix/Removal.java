package dev.vllmrouter.policy.prefix;

import java.util.ArrayDeque;

/**
 * Removes one tenant from every node of the tree (a worker left the fleet).
 * <p>Algorithm: depth-first over the nodes the tenant holds only (prefix closure: it holds nothing below a node it
 * does not hold), dropping it from each. A node left with no holder was held by this tenant alone, and so was its
 * whole subtree: that subtree is unlinked in one piece, with one copy of its parent's children array.
 * Cost: O(nodes the tenant holds + their children).
 * <p>Thread-safety: the caller holds the tree's writer lock. Readers may briefly see an emptied node still linked;
 * it contributes nothing to a match.
 */
final class Removal {
    private Removal() {
    }

    /** Drops tenant {@code id} everywhere below {@code root}; returns the number of nodes unlinked. */
    static int run(Node root, int id) {
        int unlinked = 0;
        ArrayDeque<Node> stack = new ArrayDeque<>();
        stack.push(root);
        while (!stack.isEmpty()) {
            Node x = stack.pop();
            boolean emptied = false;
            for (Node c : x.children) {
                long[] h = c.holders;
                int at = Holders.indexOf(h, id);
                if (at < 0) {
                    continue;
                }
                c.holders = Holders.without(h, at);
                if (c.holders.length == 0) {
                    emptied = true;
                    unlinked += unlinkSubtree(c);
                } else {
                    stack.push(c);
                }
            }
            if (emptied) {
                x.pruneEmptyChildren();
            }
        }
        return unlinked;
    }

    /** Marks every node of the subtree dead (eviction may hold references to them); returns their number. */
    private static int unlinkSubtree(Node top) {
        int n = 0;
        ArrayDeque<Node> stack = new ArrayDeque<>();
        stack.push(top);
        while (!stack.isEmpty()) {
            Node x = stack.pop();
            x.dead = true;
            n++;
            for (Node c : x.children) {
                stack.push(c);
            }
        }
        return n;
    }
}
