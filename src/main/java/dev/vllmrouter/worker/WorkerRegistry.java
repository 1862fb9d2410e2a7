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

import dev.vllmrouter.common.WorkerUrl;

/**
 * The set of workers. Writers (start-up, admin API, later discovery and health) serialise on one lock and publish a
 * new immutable {@link WorkerSnapshot} through one volatile field; readers never lock. A worker's {@link Worker}
 * object (with its counters) lives as long as it is registered.
 */
public final class WorkerRegistry {
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Worker> workers = new LinkedHashMap<>(); // guarded by lock
    private final Map<String, Set<String>> modelsByBase = new HashMap<>(); // guarded by lock
    private final int dataParallelSize;
    private volatile WorkerSnapshot snapshot = WorkerSnapshot.EMPTY;

    /** @param dataParallelSize {@code --intra-node-data-parallel-size}: plain URLs expand to that many ranks */
    public WorkerRegistry(int dataParallelSize) {
        if (dataParallelSize < 1) {
            throw new IllegalArgumentException("dataParallelSize: " + dataParallelSize + " (expected >= 1)");
        }
        this.dataParallelSize = dataParallelSize;
    }

    public WorkerSnapshot snapshot() {
        return snapshot;
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
        lock.lock();
        try {
            if (models != null) {
                modelsByBase.put(url.base(), Set.copyOf(models));
            }
            List<Worker> added = new ArrayList<>();
            for (WorkerUrl u : expand(url)) {
                if (!workers.containsKey(u.id())) {
                    Worker w = new Worker(u);
                    workers.put(u.id(), w);
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
        snapshot = new WorkerSnapshot(snapshot.version() + 1, all, all, models);
    }
}
