package dev.vllmrouter.metrics;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

import dev.vllmrouter.admission.AdmissionGate;
import dev.vllmrouter.fault.CircuitBreaker;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * The series that describe the fleet as it is at scrape time, rendered straight from the current
 * {@link WorkerSnapshot}: no per-worker meter has to be created or removed as workers come and go, and a removed
 * worker's series disappear at once. Counters among them ({@code processed_requests_total}, {@code cb_outcomes_total})
 * are the workers' own counters; they restart at 0 when a worker is removed and added again, which Prometheus'
 * {@code rate()} treats as a counter reset.
 * <ul>
 *   <li>{@code vllm_router_active_workers}; per worker {@code vllm_router_worker_health} (1 in rotation, 0 not),
 *       {@code vllm_router_running_requests} (this router's in flight), {@code vllm_router_worker_load} (the
 *       worker's own queue as last scraped, beyond this router's requests), {@code vllm_router_processed_requests_total},
 *       {@code vllm_router_cb_state} (0 closed, 1 open, 2 half-open), {@code vllm_router_cb_outcomes_total{outcome}}
 *       and, for cache_aware, {@code vllm_router_tree_size} (characters of cached text);</li>
 *   <li>{@code vllm_router_max_load}, {@code vllm_router_min_load} over the workers in rotation;</li>
 *   <li>{@code vllm_router_admission_in_flight}, {@code vllm_router_admission_queue_size}.</li>
 * </ul>
 */
public final class FleetGauges implements Supplier<CharSequence> {
    private final Supplier<WorkerSnapshot> snapshots;
    private final AdmissionGate admission;
    private final ToLongFunction<String> treeChars;

    /** @param treeChars characters of cached text per worker id, or {@code null} when no policy keeps a tree */
    public FleetGauges(Supplier<WorkerSnapshot> snapshots, AdmissionGate admission, ToLongFunction<String> treeChars) {
        this.snapshots = snapshots;
        this.admission = admission;
        this.treeChars = treeChars;
    }

    @Override
    public CharSequence get() {
        WorkerSnapshot s = snapshots.get();
        List<Worker> workers = s.workers();
        StringBuilder out = new StringBuilder(256 + workers.size() * 600);
        family(out, "vllm_router_active_workers", "gauge", "Registered workers");
        out.append("vllm_router_active_workers ").append(workers.size()).append('\n');

        Set<Worker> inRotation = Collections.newSetFromMap(new IdentityHashMap<>());
        inRotation.addAll(s.available());
        family(out, "vllm_router_worker_health", "gauge", "1 while the worker is in rotation (healthy), else 0");
        for (Worker w : workers) {
            sample(out, "vllm_router_worker_health", w, inRotation.contains(w) ? 1 : 0);
        }
        family(out, "vllm_router_running_requests", "gauge", "Requests this router has in flight on the worker");
        for (Worker w : workers) {
            sample(out, "vllm_router_running_requests", w, w.inFlight());
        }
        family(out, "vllm_router_worker_load", "gauge", "The worker's own queue beyond this router's requests");
        for (Worker w : workers) {
            sample(out, "vllm_router_worker_load", w, w.externalLoad());
        }
        family(out, "vllm_router_processed_requests_total", "counter", "Requests sent to the worker");
        for (Worker w : workers) {
            sample(out, "vllm_router_processed_requests_total", w, w.processed());
        }
        family(out, "vllm_router_cb_state", "gauge", "Circuit state: 0 closed, 1 open, 2 half-open");
        for (Worker w : workers) {
            sample(out, "vllm_router_cb_state", w, stateValue(w.breaker().state()));
        }
        family(out, "vllm_router_cb_outcomes_total", "counter", "Outcomes recorded by the worker's circuit");
        for (Worker w : workers) {
            labelled(out, "vllm_router_cb_outcomes_total", w, "outcome", "success", w.successes());
            labelled(out, "vllm_router_cb_outcomes_total", w, "outcome", "failure", w.failures());
        }
        if (treeChars != null) {
            family(out, "vllm_router_tree_size", "gauge", "Characters of prompt text cache_aware holds for the worker");
            for (Worker w : workers) {
                sample(out, "vllm_router_tree_size", w, treeChars.applyAsLong(w.id()));
            }
        }
        int max = 0;
        int min = s.available().isEmpty() ? 0 : Integer.MAX_VALUE;
        for (Worker w : s.available()) {
            max = Math.max(max, w.load());
            min = Math.min(min, w.load());
        }
        family(out, "vllm_router_max_load", "gauge", "Highest load among the workers in rotation");
        out.append("vllm_router_max_load ").append(max).append('\n');
        family(out, "vllm_router_min_load", "gauge", "Lowest load among the workers in rotation");
        out.append("vllm_router_min_load ").append(min).append('\n');

        family(out, "vllm_router_admission_in_flight", "gauge",
                "Generation requests holding an admission slot (--max-concurrent-requests)");
        out.append("vllm_router_admission_in_flight ").append(admission.inFlight()).append('\n');
        family(out, "vllm_router_admission_queue_size", "gauge", "Requests waiting for an admission slot");
        out.append("vllm_router_admission_queue_size ").append(admission.queued()).append('\n');
        return out;
    }

    private static int stateValue(CircuitBreaker.State state) {
        return switch (state) {
            case CLOSED -> 0;
            case OPEN -> 1;
            case HALF_OPEN -> 2;
        };
    }

    private static void family(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, Worker w, long value) {
        out.append(name).append("{worker=\"");
        escape(out, w.id());
        out.append("\"} ").append(value).append('\n');
    }

    private static void labelled(StringBuilder out, String name, Worker w, String label, String labelValue,
                                 long value) {
        out.append(name).append("{worker=\"");
        escape(out, w.id());
        out.append("\",").append(label).append("=\"").append(labelValue).append("\"} ").append(value).append('\n');
    }

    /** Label values escape backslash, double quote and newline (Prometheus text format). */
    static void escape(StringBuilder out, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
    }
}
