package dev.vllmrouter.discovery;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerSpec;

/**
 * The engines currently registered over ZeroMQ, keyed by HTTP address: each registration (re)sets the engine's
 * expiry to now + {@code ttl} on the injected monotonic clock; an engine not heard from for {@code ttl} (5 s, as
 * vllm-router: vLLM re-registers every ~3 s) expires. Changes are reported so the registry is told only when the
 * set changed, not on every heartbeat. Not thread-safe: owned by the discovery thread.
 */
final class LeaseTable {
    private record Entry(Registration registration, long expiresAt) {
    }

    private final Ticker ticker;
    private final long ttlNanos;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    LeaseTable(Ticker ticker, long ttlNanos) {
        this.ticker = ticker;
        this.ttlNanos = ttlNanos;
    }

    /** Records a heartbeat; true when it added an engine or changed one's role or ZeroMQ address. */
    boolean register(Registration r) {
        Entry previous = entries.put(r.httpAddress(), new Entry(r, ticker.nanos() + ttlNanos));
        return previous == null || !previous.registration().equals(r);
    }

    /** Drops expired engines; true when some expired. */
    boolean expire() {
        long now = ticker.nanos();
        boolean changed = false;
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            if (now - it.next().expiresAt() >= 0) {
                it.remove();
                changed = true;
            }
        }
        return changed;
    }

    /** The live registrations, oldest first. */
    List<Registration> registrations() {
        List<Registration> out = new ArrayList<>(entries.size());
        entries.values().forEach(e -> out.add(e.registration()));
        return out;
    }

    /** The live engines as workers ({@code http://<http_address>}, role, ZeroMQ address). */
    List<WorkerSpec> workers() {
        List<WorkerSpec> out = new ArrayList<>(entries.size());
        for (Entry e : entries.values()) {
            Registration r = e.registration();
            out.add(new WorkerSpec(WorkerUrl.parse("http://" + r.httpAddress()),
                    r.prefill() ? Role.PREFILL : Role.DECODE, -1, r.zmqAddress()));
        }
        return out;
    }
}
