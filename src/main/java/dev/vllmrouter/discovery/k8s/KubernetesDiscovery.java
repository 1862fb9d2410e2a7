package dev.vllmrouter.discovery.k8s;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.Config;

import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerRegistry;
import dev.vllmrouter.worker.WorkerSpec;

/**
 * Kubernetes service discovery ({@code --service-discovery}): pods that match the configured labels and are ready
 * become workers of source {@value #SOURCE}.
 * <p>One {@link PodWatch} (list + watch with a server-side label selector) per selector: one in regular mode, one per
 * role in PD mode. Two watches rather than one because equality selectors can only be ANDed: the union of two
 * arbitrary selectors has no server-side form, and one unfiltered watch would bring back vllm-router's cost of
 * streaming every pod of the cluster to every router. A pod matching both selectors is a prefill worker (the decode
 * watch leaves it to the prefill one, see {@link PodMapper}).
 * <p>Invariant: after every change, the registry's workers of source {@value #SOURCE} are exactly the union of the
 * watches' current views, handed over in one {@link WorkerRegistry#reconcile} (adds and removes in one snapshot).
 * The views are complete, so a restarted watch can neither leak a worker nor drop one it still sees. Discovery never
 * waits for a worker's health: the registry's health checks and breakers take care of that.
 * <p>Thread-safety: the watches run on their own daemon threads; merging and publishing is serialised by one lock,
 * so a later view can never be overwritten by an earlier one. {@link #close()} stops the watches and leaves the
 * registry as it is (the router is shutting down).
 */
public final class KubernetesDiscovery implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(KubernetesDiscovery.class.getName());
    /** The registry source name of discovered workers. */
    public static final String SOURCE = "kubernetes";
    private static final Duration JOIN = Duration.ofSeconds(2);

    private final WorkerRegistry registry;
    private final DiscoveryListener listener;
    private final List<PodWatch> watches = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<PodWatch, Map<String, PodWatch.Discovered>> views = new HashMap<>(); // guarded by lock
    private Map<String, PodWatch.Discovered> published = Map.of(); // worker id -> pod; guarded by lock
    private volatile boolean started;

    /** Connects with the in-cluster service account, else {@code $KUBECONFIG} / {@code ~/.kube/config}. */
    public KubernetesDiscovery(KubernetesDiscoveryConfig config, WorkerRegistry registry, DiscoveryListener listener)
            throws IOException {
        this(config, registry, Config.defaultClient(), listener);
    }

    /** @param client the API server connection (its connection pool, TLS and credentials are reused) */
    public KubernetesDiscovery(KubernetesDiscoveryConfig config, WorkerRegistry registry, ApiClient client,
                               DiscoveryListener listener) {
        this(config, registry, client, listener, Thread::sleep, PodWatch.Tuning.DEFAULT);
    }

    KubernetesDiscovery(KubernetesDiscoveryConfig config, WorkerRegistry registry, ApiClient client,
                        DiscoveryListener listener, PodWatch.Sleeper sleeper, PodWatch.Tuning tuning) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.listener = Objects.requireNonNull(listener, "listener");
        PodMapper mapper = new PodMapper(config);
        if (config.pdMode()) {
            watch(config, config.prefillSelector(), Role.PREFILL, mapper, client, sleeper, tuning);
            watch(config, config.decodeSelector(), Role.DECODE, mapper, client, sleeper, tuning);
        } else {
            watch(config, config.selector(), Role.REGULAR, mapper, client, sleeper, tuning);
        }
    }

    private void watch(KubernetesDiscoveryConfig config, Map<String, String> selector, Role role, PodMapper mapper,
                       ApiClient client, PodWatch.Sleeper sleeper, PodWatch.Tuning tuning) {
        if (selector.isEmpty()) {
            LOG.log(Level.WARNING, "kubernetes discovery: no {0} selector: no pod will be a {0} worker",
                    role.label());
            return;
        }
        PodWatch[] self = new PodWatch[1];
        self[0] = new PodWatch(KubernetesDiscoveryConfig.labelSelector(selector), config.namespace(), role, mapper,
                client, tuning, sleeper, listener, view -> publish(self[0], view));
        watches.add(self[0]);
    }

    /** Starts the watches (each on a daemon thread); returns at once. */
    public KubernetesDiscovery start() {
        if (started) {
            return this;
        }
        started = true;
        for (PodWatch w : watches) {
            threads.add(Thread.ofPlatform().daemon().name("vllm-router-k8s-discovery-" + threads.size()).start(w));
            LOG.log(Level.INFO, "kubernetes discovery: watching {0}", w.describe());
        }
        return this;
    }

    /** Whether every watch has listed its pods at least once (until then the set may be incomplete). */
    public boolean synced() {
        lock.lock();
        try {
            return views.keySet().containsAll(watches);
        } finally {
            lock.unlock();
        }
    }

    /** The workers discovery publishes now, by worker URL (before data-parallel expansion). */
    public List<WorkerSpec> workers() {
        lock.lock();
        try {
            return published.values().stream().map(PodWatch.Discovered::spec).toList();
        } finally {
            lock.unlock();
        }
    }

    private void publish(PodWatch from, Map<String, PodWatch.Discovered> view) {
        lock.lock();
        try {
            views.put(from, view);
            Map<String, PodWatch.Discovered> desired = new TreeMap<>();
            for (PodWatch w : watches) { // in order: prefill before decode, so prefill wins a shared URL
                for (PodWatch.Discovered d : views.getOrDefault(w, Map.of()).values()) {
                    desired.putIfAbsent(d.spec().url().id(), d);
                }
            }
            List<PodWatch.Discovered> added = new ArrayList<>();
            List<PodWatch.Discovered> removed = new ArrayList<>();
            desired.forEach((id, d) -> {
                PodWatch.Discovered before = published.get(id);
                if (before == null || !before.spec().equals(d.spec())) {
                    added.add(d);
                }
            });
            published.forEach((id, d) -> {
                PodWatch.Discovered now = desired.get(id);
                if (now == null || !now.spec().equals(d.spec())) {
                    removed.add(d);
                }
            });
            if (added.isEmpty() && removed.isEmpty()) {
                published = desired; // only pod names behind unchanged URLs may differ
                return;
            }
            // one reconcile: a worker whose bootstrap port changed (an annotation added after the pod started) is
            // replaced within the same snapshot, never missing from one
            WorkerRegistry.Change change = registry.reconcile(SOURCE,
                    desired.values().stream().map(PodWatch.Discovered::spec).toList());
            published = desired;
            for (PodWatch.Discovered d : removed) {
                LOG.log(Level.INFO, "kubernetes discovery: removed {0} worker {1} (pod {2})", d.spec().role().label(),
                        d.spec().url().id(), d.pod());
            }
            for (PodWatch.Discovered d : added) {
                LOG.log(Level.INFO, "kubernetes discovery: added {0} worker {1} (pod {2}{3})",
                        d.spec().role().label(), d.spec().url().id(), d.pod(),
                        d.spec().bootstrapPort() > 0 ? ", bootstrap port " + d.spec().bootstrapPort() : "");
            }
            try {
                listener.updated(change.added(), change.removed(), desired.size());
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "discovery listener failed: " + e);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether some URL stays with the same role but a different spec (only the bootstrap port can differ then). */
    /** Stops the watches and waits briefly for their threads; the discovered workers stay registered. */
    @Override
    public void close() {
        watches.forEach(PodWatch::close);
        threads.forEach(Thread::interrupt);
        for (Thread t : threads) {
            try {
                t.join(JOIN);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
