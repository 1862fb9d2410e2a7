package dev.vllmrouter.policy.prefix;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tenant names to the dense int ids the tree stores in {@link Holders}.
 * <p>Invariant: an id is returned to the free set only by {@link #unregister}, which the tree calls after the
 * tenant is gone from every reachable node; so an id in a node always names the tenant registered under it, provided
 * the reader checks that {@link #snapshot()} did not change while it read (see {@code PrefixTree.match}).
 * <p>Thread-safety: {@link #register} and {@link #unregister} run under the tree's writer lock; every change
 * publishes a fresh {@code byId} array, so readers use a consistent snapshot without locking.
 */
final class Tenants {
    /** A registered tenant; {@link #chars} is written under the tree's lock and read by anyone. */
    static final class Tenant {
        final String name;
        final int id;
        volatile long chars;

        Tenant(String name, int id) {
            this.name = name;
            this.id = id;
        }

        @Override
        public String toString() {
            return name + "#" + id + "(" + chars + " chars)";
        }
    }

    private final ConcurrentHashMap<String, Tenant> byName = new ConcurrentHashMap<>();
    private volatile Tenant[] byId = new Tenant[0];
    private final BitSet freeIds = new BitSet();
    private int nextId;

    Tenant find(String name) {
        return byName.get(name);
    }

    /** Writer: the tenant called {@code name}, registering it with the lowest free id if new. */
    Tenant register(String name) {
        Tenant t = byName.get(name);
        if (t != null) {
            return t;
        }
        int id = freeIds.nextSetBit(0);
        if (id >= 0) {
            freeIds.clear(id);
        } else if (nextId < Holders.MAX_TENANTS) {
            id = nextId++;
        } else {
            throw new IllegalStateException("prefix tree supports at most " + Holders.MAX_TENANTS + " tenants");
        }
        t = new Tenant(name, id);
        Tenant[] next = Arrays.copyOf(byId, Math.max(byId.length, id + 1));
        next[id] = t;
        byName.put(name, t);
        byId = next;
        return t;
    }

    /** Writer: forgets {@code t}; its id may be reused. The tenant must be gone from every reachable node. */
    void unregister(Tenant t) {
        byName.remove(t.name, t);
        Tenant[] next = byId.clone();
        next[t.id] = null;
        byId = next;
        freeIds.set(t.id);
    }

    /** Id-indexed tenants ({@code null} for free ids); a new array after every change. */
    Tenant[] snapshot() {
        return byId;
    }

    /**
     * The registered tenants, each once: from one {@link #snapshot()} (iterating {@code byName} while a writer removes
     * and re-registers a name can meet that name several times, as a race test found).
     */
    List<Tenant> all() {
        List<Tenant> out = new ArrayList<>();
        for (Tenant t : byId) {
            if (t != null) {
                out.add(t);
            }
        }
        return out;
    }
}
