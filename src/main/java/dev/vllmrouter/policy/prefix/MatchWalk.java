package dev.vllmrouter.policy.prefix;

import java.util.Arrays;

/**
 * The read-only walk behind {@link PrefixTree#match}: follows the longest path spelling a prefix of the text, then
 * visits the path deepest node first, crediting each tenant with the depth of the first (deepest) node it holds, so
 * tenants come out sorted by matched length, longest first, with no sort. A partly matched last edge counts its
 * matched chars. {@code sharedChars} is the deepest branch point on the path: a fully matched node with two or
 * more children, or the point where the input itself leaves the stored texts while they go on (inside an edge, or at
 * a node none of whose children continues the input).
 * Cost: O(matched chars / vector width + path length + holders along the path); allocations are a few small arrays
 * per call, none per char.
 * <p>Thread-safety: lock-free; reads only immutable labels and arrays published through volatile fields.
 */
final class MatchWalk {
    private MatchWalk() {
    }

    /** Matches {@code text[0, n)}; {@code names} is the tenant snapshot that names the ids found. */
    static PrefixTree.Match walk(Node root, char[] text, int n, Tenants.Tenant[] names) {
        Node[] path = new Node[8];
        int[] ends = new int[8];
        int depth = 0;
        int shared = 0;
        Node node = root;
        int i = 0;
        while (i < n) {
            Node child = node.child(text[i]);
            if (child == null) {
                if (node.children.length > 0) {
                    shared = i; // the input branches off where other texts go on: a branch point
                }
                break;
            }
            int m = Chars.commonPrefix(child.label, text, i, n);
            i += m;
            if (depth == path.length) {
                path = Arrays.copyOf(path, depth * 2);
                ends = Arrays.copyOf(ends, depth * 2);
            }
            path[depth] = child;
            ends[depth++] = i;
            if (m < child.label.length) {
                if (i < n) {
                    shared = i; // the input leaves a stored text mid-edge: they share what came before
                }
                break;
            }
            if (child.children.length >= 2) {
                shared = i;
            }
            node = child;
        }
        long[] seen = new long[(names.length + 63) >>> 6];
        String[] who = new String[Math.max(1, Math.min(names.length, 16))];
        int[] lengths = new int[who.length];
        int k = 0;
        for (int d = depth - 1; d >= 0; d--) {
            for (long e : path[d].holders) {
                int id = Holders.id(e);
                if (id >= names.length || names[id] == null || (seen[id >>> 6] & (1L << id)) != 0) {
                    continue; // unknown to this snapshot (registered since) or already credited deeper
                }
                seen[id >>> 6] |= 1L << id;
                if (k == who.length) {
                    who = Arrays.copyOf(who, k * 2);
                    lengths = Arrays.copyOf(lengths, k * 2);
                }
                who[k] = names[id].name;
                lengths[k++] = ends[d];
            }
        }
        return new PrefixTree.Match(n, Arrays.asList(who).subList(0, k), Arrays.copyOf(lengths, k), shared);
    }
}
