package dev.vllmrouter.discovery;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What MoRI-IO routing needs beyond the workers themselves: the fleet's transfer mode and each engine's
 * tensor-/data-parallel sizes, as last registered over ZeroMQ. The mode is fixed by the first registration the router
 * accepts; a registration naming the other mode is dropped (vLLM's engines of one deployment must agree); once every
 * engine has expired the mode is free again (as vllm-router does). Until a mode is known, MoRI-IO requests fail (503).
 * <p>Thread-safety: one writer (the discovery thread) publishes an immutable {@link View} through a volatile field;
 * request threads read it without locking.
 */
public final class MoriioFleet {
    /** The transfer mode a MoRI-IO deployment runs in. */
    public enum Mode { READ, WRITE }

    /** An engine's parallel sizes. */
    public record Engine(int tpSize, int dpSize) {
        public static final Engine DEFAULT = new Engine(1, 1);
    }

    /**
     * @param mode    the fleet's transfer mode, or {@code null} while no engine is registered
     * @param engines by HTTP {@code host:port}
     */
    public record View(Mode mode, Map<String, Engine> engines) {
        public View {
            engines = Map.copyOf(engines);
        }

        /** The engine at {@code hostPort}, or {@link Engine#DEFAULT} when it is not (or no longer) registered. */
        public Engine engine(String hostPort) {
            return engines.getOrDefault(hostPort, Engine.DEFAULT);
        }
    }

    private volatile View view = new View(null, Map.of());

    public View view() {
        return view;
    }

    /** Whether {@code r} may join: a MoRI-IO registration whose mode agrees with the fleet's (or none is fixed yet). */
    boolean accepts(Registration r) {
        Mode mode = view.mode;
        return r.moriio() && (mode == null || mode.name().equals(r.transferMode()));
    }

    /** Publishes the live registrations (discovery thread only); the mode follows the first, or resets when none. */
    void publish(List<Registration> live) {
        Mode mode = live.isEmpty() ? null : view.mode;
        Map<String, Engine> engines = new HashMap<>();
        for (Registration r : live) {
            if (mode == null) {
                mode = Mode.valueOf(r.transferMode());
            }
            engines.put(r.httpAddress(), new Engine(r.tpSize(), r.dpSize()));
        }
        view = new View(mode, engines);
    }
}
