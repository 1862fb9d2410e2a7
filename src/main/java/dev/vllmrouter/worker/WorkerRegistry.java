package dev.vllmrouter.worker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.fault.CircuitBreaker;
import dev.vllmrouter.fault.CircuitBreakerConfig;

/**
 * The set of workers. Writers (start-up, admin API, later discovery and health) serialise on one lock and publish a
 * new immutable {@link WorkerSnapshot} through one volatile field; readers never lock. A worker's {@link Worker}
 * object (with its counters) lives as long as it is registered.
 */
public final class WorkerRegistry {
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Worker> workers = new LinkedHashMap<>(); // guarded by lock
    private final Map<String, Set<String>> modelsByBase = new HashMap<>(); // guarded by lock
    private final Map<String, String> sourceOf = new HashMap<>(); // worker id -> source that added it; guarded by lock
    private final Set<String> unhealthyBases = new HashSet<>(); // guarded by lock
    private final int dataParallelSize;
    private final Function<String, CircuitBreaker> breakers;
    private volatile WorkerSnapshot snapshot = WorkerSnapshot.EMPTY;
    private volatile Map<Role, WorkerSnapshot> byRole = Map.of(Role.REGULAR, WorkerSnapshot.EMPTY,
            Role.PREFILL, WorkerSnapshot.EMPTY, Role.DECODE, WorkerSnapshot.EMPTY);

    /** @param dataParallelSize {@code --intra-node-data-parallel-size}: plain URLs expand to that many ranks */
    public WorkerRegistry(int dataParallelSize) {
        this(dataParallelSize, id -> new CircuitBreaker(CircuitBreakerConfig.defaults(), Ticker.system()));
    }

    /** @param breakers makes the circuit breaker of each new worker, given its id */
    public WorkerRegistry(int dataParallelSize, Function<String, CircuitBreaker> breakers) {
        if (dataParallelSize < 1) {
            throw new IllegalArgumentException("dataParallelSize: " + dataParallelSize + " (expected >= 1)");
        }
        this.dataParallelSize = dataParallelSize;
        this.breakers = breakers;
    }

    public WorkerSnapshot snapshot() {
        return snapshot;
    }

    /**
     * The workers of one role, as a snapshot of its own (same version as {@link #snapshot()}; built once per change,
     * so policies bound to it rebuild once per version too).
     */
    public WorkerSnapshot snapshot(Role role) {
        return byRole.get(role);
    }

    /** The worker ids {@code url} stands for: itself when it pins a rank or DP is off, else {@code url@0..N-1}. */
    public List<WorkerUrl> expand(WorkerUrl url) {
        if (url.isDataParallel() || dataParallelSize == 1) {
            return List.of(url);
        }
        List<WorkerUrl> ranks = new ArrayList<>(dataParallelSize);
        for (int r = 0; r < dataParallelSize; r++) {
            ranks.add(url.withRank(r));
        }
        return ranks;
    }

    /**
     * Registers {@code url} (expanded to its DP ranks).
     *
     * @return the workers that were new; empty when all were registered already
     */
    public List<Worker> add(WorkerUrl url) {
        return add(url, null);
    }

    /**
     * Registers {@code url} (expanded to its DP ranks) together with the models its server serves ({@code null} when
     * not known), in one snapshot.
     *
     * @return the workers that were new; empty when all were registered already
     */
    public List<Worker> add(WorkerUrl url, Set<String> models) {
        return add(WorkerSpec.regular(url), models, "static");
    }

    /**
     * Registers a worker of any role (expanded to its DP ranks) with its models ({@code null}: unknown), on behalf of
     * {@code source}, in one snapshot.
     *
     * @return the workers that were new; empty when all were registered already
     */
    public List<Worker> add(WorkerSpec spec, Set<String> models, String source) {
        lock.lock();
        try {
            WorkerUrl url = spec.url();
            if (models != null) {
                modelsByBase.put(url.base(), Set.copyOf(models));
            }
            List<Worker> added = new ArrayList<>();
            for (WorkerUrl u : expand(url)) {
                if (!workers.containsKey(u.id())) {
                    Worker w = new Worker(u, spec.role(), spec.bootstrapPort(), spec.zmqAddress(),
                            breakers.apply(u.id()));
                    workers.put(u.id(), w);
                    sourceOf.put(u.id(), source);
                    added.add(w);
                }
            }
            if (!added.isEmpty() || models != null) {
                publish();
            }
            return added;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes the worker {@code id}; a plain URL also removes all its DP ranks ({@code url@*}).
     *
     * @return the removed workers
     */
    public List<Worker> remove(String id) {
        String key = id.trim();
        while (key.endsWith("/")) {
            key = key.substring(0, key.length() - 1);
        }
        lock.lock();
        try {
            List<Worker> removed = new ArrayList<>();
            for (Iterator<Worker> it = workers.values().iterator(); it.hasNext(); ) {
                Worker w = it.next();
                if (w.id().equals(key) || (w.dpRank() >= 0 && w.baseUrl().equals(key))) {
                    it.remove();
                    sourceOf.remove(w.id());
                    removed.add(w);
                }
            }
            if (!removed.isEmpty()) {
                publish();
            }
            return removed;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records the models the server at {@code baseUrl} serves (all its DP ranks); {@code null} forgets them (unknown:
     * the server may serve anything). Publishes a new snapshot only when something changed.
     */
    public void updateModels(String baseUrl, Set<String> models) {
        lock.lock();
        try {
            Set<String> next = models == null ? null : Set.copyOf(models);
            if (java.util.Objects.equals(modelsByBase.get(baseUrl), next)) {
                return;
            }
            if (next == null) {
                modelsByBase.remove(baseUrl);
            } else {
                modelsByBase.put(baseUrl, next);
            }
            publish();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Makes the workers added by {@code source} exactly {@code desired} (discovery publishes its full view): adds the
     * new ones, removes the ones it no longer lists, keeps the others (and their counters) untouched. A worker whose
     * role, bootstrap port or ZeroMQ address changed is replaced by a fresh one. A worker added by another source is
     * never removed here. One snapshot for the whole change: no snapshot ever lacks a worker that is only replaced.
     *
     * @return how many workers were added and removed
     */
    public Change reconcile(String source, java.util.Collection<WorkerSpec> desired) {
        lock.lock();
        try {
            Map<String, WorkerSpec> wanted = new LinkedHashMap<>();
            for (WorkerSpec spec : desired) {
                for (WorkerUrl u : expand(spec.url())) {
                    wanted.put(u.id(), new WorkerSpec(u, spec.role(), spec.bootstrapPort(), spec.zmqAddress()));
                }
            }
            int removed = 0;
            for (Iterator<Worker> it = workers.values().iterator(); it.hasNext(); ) {
                Worker w = it.next();
                WorkerSpec want = wanted.get(w.id());
                boolean mine = source.equals(sourceOf.get(w.id()));
                if (mine && (want == null || want.role() != w.role() || want.bootstrapPort() != w.bootstrapPort()
                        || !java.util.Objects.equals(want.zmqAddress(), w.zmqAddress()))) {
                    it.remove();
                    sourceOf.remove(w.id());
                    removed++;
                }
            }
            int added = 0;
            for (WorkerSpec spec : wanted.values()) {
                if (!workers.containsKey(spec.url().id())) {
                    workers.put(spec.url().id(), new Worker(spec.url(), spec.role(), spec.bootstrapPort(),
                            spec.zmqAddress(), breakers.apply(spec.url().id())));
                    sourceOf.put(spec.url().id(), source);
                    added++;
                }
            }
            Change change = new Change(added, removed);
            if (change.any()) {
                publish();
            }
            return change;
        } finally {
            lock.unlock();
        }
    }

    /** What one {@link #reconcile} did: workers added and removed (DP ranks counted one by one). */
    public record Change(int added, int removed) {
        public boolean any() {
            return added > 0 || removed > 0;
        }
    }

    /**
     * Takes the server at {@code baseUrl} (all its DP ranks) out of rotation, or puts it back; it stays registered.
     * Publishes a new snapshot when something changed.
     */
    public void markHealthy(String baseUrl, boolean healthy) {
        lock.lock();
        try {
            if (healthy ? unhealthyBases.remove(baseUrl) : unhealthyBases.add(baseUrl)) {
                publish();
            }
        } finally {
            lock.unlock();
        }
    }

    public Worker find(String id) {
        for (Worker w : snapshot.workers()) {
            if (w.id().equals(id)) {
                return w;
            }
        }
        return null;
    }

    private void publish() {
        List<Worker> all = List.copyOf(workers.values());
        Map<String, Set<String>> models = new HashMap<>();
        Set<String> bases = new HashSet<>();
        for (Worker w : all) {
            bases.add(w.baseUrl());
            Set<String> served = modelsByBase.get(w.baseUrl());
            if (served != null) {
                models.put(w.id(), served);
            }
        }
        modelsByBase.keySet().retainAll(bases);
        unhealthyBases.retainAll(bases);
        List<Worker> healthy = all.stream().filter(w -> !unhealthyBases.contains(w.baseUrl())).toList();
        long version = snapshot.version() + 1;
        Map<Role, WorkerSnapshot> roles = new java.util.EnumMap<>(Role.class);
        for (Role role : Role.values()) {
            roles.put(role, new WorkerSnapshot(version, all.stream().filter(w -> w.role() == role).toList(),
                    healthy.stream().filter(w -> w.role() == role).toList(), models));
        }
        byRole = roles;
        snapshot = new WorkerSnapshot(version, all, healthy, models);
    }
}
