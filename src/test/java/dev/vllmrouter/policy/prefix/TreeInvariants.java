package dev.vllmrouter.policy.prefix;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Checks the structural invariants of a quiescent {@link PrefixTree} and reads what each tenant holds. */
final class TreeInvariants {
    private TreeInvariants() {
    }

    /** Throws an {@link AssertionError} naming {@code context} if any invariant of the class comment is broken. */
    static void check(PrefixTree tree, String context) {
        Node root = tree.root();
        require(root.holders.length == 0, context, "the root is held by nobody");
        Map<String, Long> chars = new HashMap<>();
        int nodes = 0;
        ArrayDeque<Node> stack = new ArrayDeque<>();
        stack.push(root);
        while (!stack.isEmpty()) {
            Node x = stack.pop();
            Node[] kids = x.children;
            for (int j = 0; j < kids.length; j++) {
                Node c = kids[j];
                nodes++;
                require(c.parent == x, context, "parent pointer of child of " + text(x));
                require(!c.dead, context, "no reachable node is marked dead: " + text(c));
                require(c.label.length > 0 && c.first == c.label[0], context, "non-empty label, cached first char");
                require(j == 0 || kids[j - 1].first < c.first, context, "children sorted by distinct first chars");
                long[] h = c.holders;
                require(h.length > 0, context, "no reachable node without tenants: " + text(c));
                for (int k = 0; k < h.length; k++) {
                    int id = Holders.id(h[k]);
                    require(k == 0 || Holders.id(h[k - 1]) < id, context, "holder ids strictly increasing");
                    String name = tree.tenantName(id);
                    require(name != null, context, "holder id " + id + " names a registered tenant");
                    if (x != root) {
                        int at = Holders.indexOf(x.holders, id);
                        require(at >= 0, context, "prefix closure: " + name + " holds " + text(c) + " but not parent");
                        require(Holders.stamp(x.holders[at]) >= Holders.stamp(h[k]), context,
                                "parent stamp not older than child's for " + name);
                    }
                    chars.merge(name, (long) c.label.length, Long::sum);
                }
                stack.push(c);
            }
        }
        require(nodes == tree.nodeCount(), context, "nodeCount " + tree.nodeCount() + " == reachable nodes " + nodes);
        Set<String> registered = new HashSet<>(tree.tenants());
        require(registered.containsAll(chars.keySet()), context, "every holder is a registered tenant");
        for (String t : registered) {
            require(tree.chars(t) == chars.getOrDefault(t, 0L), context,
                    "chars(" + t + ") = " + tree.chars(t) + " equals the sum over its nodes " + chars.get(t));
        }
    }

    /** Every non-empty prefix {@code tenant} holds, char by char, with its stamp on the node containing it. */
    static Map<String, Long> held(PrefixTree tree, String tenant) {
        Map<String, Long> out = new HashMap<>();
        walkHeld(tree, tenant, (path, labelLength, stamp) -> {
            for (int k = path.length() - labelLength + 1; k <= path.length(); k++) {
                out.put(path.substring(0, k), stamp);
            }
        });
        return out;
    }

    /** The full path text of every node {@code tenant} holds. */
    static List<String> heldNodePaths(PrefixTree tree, String tenant) {
        List<String> out = new ArrayList<>();
        walkHeld(tree, tenant, (path, labelLength, stamp) -> out.add(path));
        return out;
    }

    private interface HeldVisitor {
        void visit(String path, int labelLength, long stamp);
    }

    private static void walkHeld(PrefixTree tree, String tenant, HeldVisitor visitor) {
        record Item(Node node, String path) {
        }
        ArrayDeque<Item> stack = new ArrayDeque<>();
        stack.push(new Item(tree.root(), ""));
        while (!stack.isEmpty()) {
            Item it = stack.pop();
            for (Node c : it.node().children) {
                for (long e : c.holders) {
                    if (tenant.equals(tree.tenantName(Holders.id(e)))) {
                        String path = it.path() + new String(c.label);
                        visitor.visit(path, c.label.length, Holders.stamp(e));
                        stack.push(new Item(c, path));
                    }
                }
            }
        }
    }

    private static String text(Node n) {
        String s = new String(n.label);
        return '"' + (s.length() > 20 ? s.substring(0, 20) + "..." : s) + '"';
    }

    private static void require(boolean ok, String context, String invariant) {
        if (!ok) {
            throw new AssertionError(context + ": invariant broken: " + invariant);
        }
    }
}
