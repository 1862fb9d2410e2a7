package dev.vllmrouter.policy.prefix;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Approximate radix tree over the chars of routing texts, recording which tenants (workers) served which prefixes,
 * so that cache_aware can estimate how much of a new prompt each worker probably still has in its KV cache.
 * <p><b>Algorithm.</b> A compressed trie: each node carries an immutable edge label and the tenants holding it, each
 * with its last-insert stamp (a global insert sequence number kept per (node, tenant), packed with the tenant id in
 * one {@code long}: exact LRU per tenant, no per-node approximation; see {@link Holders}). {@link #insert} walks the
 * text from the root comparing whole edge labels with the vectorised {@link Arrays#mismatch}, splits the edge where
 * the text diverges or ends inside it, adds the tenant to (or re-stamps it on) every node of the path and hangs the
 * unmatched rest below as one new leaf. {@link #match} walks the same way without writing ({@link MatchWalk}) and
 * credits each tenant with the depth of the deepest matched node it holds, counting the matched part of a partly
 * matched edge. {@link #evict} trims each tenant over budget by LRU leaf ({@link Eviction}); {@link #removeTenant}
 * drops a tenant from every node ({@link Removal}). Nodes left with no tenant are unlinked; nodes are not merged back
 * after a sibling goes (it costs some nodes, no chars).
 * <p><b>Invariants</b> (whenever the writer lock is free): (1) prefix closure: a tenant holding a node holds all its
 * ancestors (the root holds nobody); (2) every reachable node but the root is held by some tenant, so
 * {@code nodeCount() <= sum of chars(t)}: memory is bounded by the eviction budget; (3) {@code chars(t)} is the sum of
 * the label lengths of the nodes {@code t} holds, i.e. the number of distinct non-empty prefixes of its texts still
 * held; (4) a parent's stamp for a tenant is not older than any of its held children's; (5) children are sorted by
 * first char, first chars distinct; (6) a node is marked dead exactly when it has been unlinked.
 * <p><b>Thread-safety.</b> {@link #match}, {@link #chars}, {@link #nodeCount} and {@link #tenants} take no lock.
 * Writers serialise on one {@link ReentrantLock} held only for the in-memory update: {@link #insert} and
 * {@link #removeTenant} for one update each, {@link #evict} in steps of a few hundred leaves after a lock-free pass
 * that finds them. Texts are copied into pooled buffers before locking ({@link Chars}). Writers never change what a
 * reader may be reading: labels are final, children and holder-id arrays are copied and published through volatile
 * fields (a split builds two new nodes and swaps them in), only stamps are refreshed in place and readers ignore them.
 * So a match concurrent with writes sees, node by node, the old or the new state, never a torn one; across nodes it
 * may mix them (e.g. part of an insert in progress). Every length it reports is a prefix of what the reported tenant
 * really inserted: a match overlapping a tenant registration or removal is retried, so a reused tenant id is never
 * reported under the wrong name.
 * <p><b>Parameters.</b> {@code maxTextChars} (default {@value #DEFAULT_MAX_TEXT_CHARS}): only the first
 * {@code maxTextChars} chars of a text are inserted or matched, so one huge prompt cannot blow up memory.
 * {@code maxCharsPerTenant} of {@link #evict} is {@code --max-tree-size} (default
 * {@value #DEFAULT_MAX_CHARS_PER_TENANT}), called every {@code --eviction-interval}. Memory: about 2 bytes a char,
 * ~70 bytes a node, 8 bytes per (node, tenant); at most 65,536 tenants at once.
 */
public final class PrefixTree {
    public static final int DEFAULT_MAX_TEXT_CHARS = 1 << 20;
    public static final long DEFAULT_MAX_CHARS_PER_TENANT = 1L << 26;
    private static final int OPTIMISTIC_MATCH_ATTEMPTS = 3;

    private final int maxTextChars;
    private final Node root = Node.root();
    private final Tenants tenants = new Tenants();
    private final ReentrantLock lock = new ReentrantLock();
    private volatile int nodeCount;
    private long clock; // last insert stamp; writer-only

    /** @param maxTextChars only the first maxTextChars chars of any text are used */
    public PrefixTree(int maxTextChars) {
        if (maxTextChars <= 0) {
            throw new IllegalArgumentException("maxTextChars must be positive: " + maxTextChars);
        }
        this.maxTextChars = maxTextChars;
    }

    public PrefixTree() {
        this(DEFAULT_MAX_TEXT_CHARS);
    }

    public int maxTextChars() {
        return maxTextChars;
    }

    /** Records that {@code tenant} served {@code text}: its whole prefix path becomes held by the tenant, stamped now. */
    public void insert(CharSequence text, String tenant) {
        Objects.requireNonNull(tenant, "tenant");
        int n = Math.min(text.length(), maxTextChars);
        char[] chars = Chars.take(text, n); // copied before taking the lock
        lock.lock();
        try {
            Tenants.Tenant t = tenants.register(tenant);
            if (n > 0) {
                insert(chars, n, t);
            }
        } finally {
            lock.unlock();
            Chars.give(chars);
        }
    }

    private void insert(char[] chars, int n, Tenants.Tenant t) {
        long stamp = clock < Holders.MAX_STAMP ? ++clock : clock;
        Node node = root;
        int i = 0;
        while (i < n) {
            Node child = node.child(chars[i]);
            if (child == null) {
                long[] holders = {Holders.entry(t.id, stamp)};
                node.addChild(new Node(Arrays.copyOfRange(chars, i, n), node, holders, Node.NO_CHILDREN));
                t.chars += n - i;
                nodeCount++;
                return;
            }
            int m = Chars.commonPrefix(child.label, chars, i, n);
            if (m < child.label.length) {
                child = child.split(m);
                nodeCount++;
            }
            if (child.hold(t.id, stamp)) {
                t.chars += child.label.length;
            }
            node = child;
            i += m;
        }
    }

    /**
     * For {@code text}, how many leading chars each tenant holds: walks the longest path matching the text and
     * reports, for every tenant holding at least one matched char, the length of the longest prefix of the text it
     * holds, longest first. Read-only and lock-free.
     */
    public Match match(CharSequence text) {
        int n = Math.min(text.length(), maxTextChars);
        if (n == 0) {
            return Match.NONE;
        }
        char[] chars = Chars.take(text, n);
        try {
            for (int attempt = 0; attempt < OPTIMISTIC_MATCH_ATTEMPTS; attempt++) {
                Tenants.Tenant[] names = tenants.snapshot();
                Match m = MatchWalk.walk(root, chars, n, names);
                if (tenants.snapshot() == names) {
                    return m;
                }
            }
            lock.lock(); // tenants keep coming and going: read once without them
            try {
                return MatchWalk.walk(root, chars, n, tenants.snapshot());
            } finally {
                lock.unlock();
            }
        } finally {
            Chars.give(chars);
        }
    }

    /** Removes the tenant everywhere (worker left the fleet); unlinks the nodes only it held. */
    public void removeTenant(String tenant) {
        lock.lock();
        try {
            Tenants.Tenant t = tenants.find(tenant);
            if (t == null) {
                return;
            }
            nodeCount -= Removal.run(root, t.id);
            t.chars = 0;
            tenants.unregister(t);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Evicts least-recently-inserted leaves of every tenant holding more than {@code maxCharsPerTenant} chars, until
     * it holds at most that many (whole nodes go, so it may end a little below; under a flood of concurrent inserts
     * that keep invalidating its candidates it gives up after a few passes and the next sweep goes on). Meant for one
     * background thread; holds the writer lock only in short steps (see {@link Eviction}).
     */
    public void evict(long maxCharsPerTenant) {
        if (maxCharsPerTenant < 0) {
            throw new IllegalArgumentException("maxCharsPerTenant must not be negative: " + maxCharsPerTenant);
        }
        List<Tenants.Tenant> over = tenants.all().stream().filter(t -> t.chars > maxCharsPerTenant).toList();
        if (over.isEmpty()) {
            return;
        }
        List<List<Eviction.Leaf>> leaves = Eviction.collect(root, over); // lock-free: the long part
        for (int i = 0; i < over.size(); i++) {
            Eviction eviction = new Eviction(root, over.get(i), maxCharsPerTenant, leaves.get(i));
            while (eviction.active()) {
                if (eviction.needsLeaves()) {
                    eviction.collectAgain();
                }
                lock.lock(); // one bounded step at a time, so inserts get in between
                try {
                    if (tenants.find(eviction.tenant.name) != eviction.tenant) {
                        break; // removed meanwhile
                    }
                    eviction.step();
                    nodeCount -= eviction.takeUnlinked();
                } finally {
                    lock.unlock();
                }
                letWaitingWritersIn();
            }
        }
    }

    /**
     * The lock is not fair, so an evictor re-locking at once would win over the inserts it just woke and could keep
     * them waiting for many steps; it steps aside until they got in (a bounded number of times).
     */
    private void letWaitingWritersIn() {
        for (int i = 0; i < 100 && lock.hasQueuedThreads(); i++) {
            Thread.yield();
        }
    }

    /** Chars currently attributed to {@code tenant} (sum of the label lengths of the nodes it holds), 0 if unknown. */
    public long chars(String tenant) {
        Tenants.Tenant t = tenants.find(tenant);
        return t == null ? 0 : t.chars;
    }

    /** Registered tenants, sorted by name (a tenant is registered by its first insert, even of an empty text). */
    public List<String> tenants() {
        return tenants.all().stream().map(t -> t.name).sorted().toList();
    }

    /** Number of live nodes, not counting the root. */
    public int nodeCount() {
        return nodeCount;
    }

    /** The root, for invariant checks in tests. */
    Node root() {
        return root;
    }

    /** Tenant name of an id found in a node, for invariant checks in tests. */
    String tenantName(int id) {
        Tenants.Tenant[] byId = tenants.snapshot();
        return id < byId.length && byId[id] != null ? byId[id].name : null;
    }

    /**
     * Result of a match: {@code tenants[i]} holds the first {@code matchedChars[i]} chars of the input, tenants
     * listed longest match first and only if they hold at least one char. {@code inputChars} is the number of chars
     * considered (the text's length, capped at {@code maxTextChars}), so {@code longest() / inputChars} is a match
     * rate. {@code sharedChars} is where the input's path last branches: the longest matched prefix after which the
     * stored texts and the input continue in at least two different ways (0 if none) — a node with two or more
     * children, or the point where the input leaves stored texts that go on. What comes before it is common to
     * several texts (a common system prompt); what a tenant holds beyond it belongs to this input's own history. An
     * input that extends a stored text past its end does not branch there. Immutable: the array is copied in and
     * out.
     */
    public record Match(int inputChars, List<String> tenants, int[] matchedChars, int sharedChars) {
        static final Match NONE = new Match(0, List.of(), new int[0], 0);

        public Match(int inputChars, List<String> tenants, int[] matchedChars) {
            this(inputChars, tenants, matchedChars, 0);
        }

        public Match {
            tenants = List.copyOf(tenants);
            matchedChars = matchedChars.clone();
            if (tenants.size() != matchedChars.length) {
                throw new IllegalArgumentException(tenants.size() + " tenants but " + matchedChars.length + " lengths");
            }
        }

        @Override
        public int[] matchedChars() {
            return matchedChars.clone();
        }

        /** Longest matched prefix over all tenants (0 if none). */
        public int longest() {
            int max = 0;
            for (int m : matchedChars) {
                max = Math.max(max, m);
            }
            return max;
        }

        /** Matched chars of {@code tenant}, 0 if it matched nothing. */
        public int matchedChars(String tenant) {
            int i = tenants.indexOf(tenant);
            return i < 0 ? 0 : matchedChars[i];
        }

        /** How many tenants hold at least {@code chars} leading chars of the input. */
        public int holdersOf(int chars) {
            int n = 0;
            for (int m : matchedChars) {
                if (m >= chars) {
                    n++;
                }
            }
            return n;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Match m && inputChars == m.inputChars && sharedChars == m.sharedChars
                    && tenants.equals(m.tenants) && Arrays.equals(matchedChars, m.matchedChars);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * (31 * inputChars + sharedChars) + tenants.hashCode()) + Arrays.hashCode(matchedChars);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("Match[inputChars=").append(inputChars).append(", sharedChars=")
                    .append(sharedChars);
            for (int i = 0; i < matchedChars.length; i++) {
                sb.append(", ").append(tenants.get(i)).append('=').append(matchedChars[i]);
            }
            return sb.append(']').toString();
        }
    }
}
