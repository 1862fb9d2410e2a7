package dev.vllmrouter.bench;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.worker.Worker;

/**
 * The reference the policies are compared with: perfect conversation affinity and a balanced spread. A conversation
 * is assigned at its first turn to the next worker in round-robin order and stays there for every later turn. It
 * knows the conversation id, which a real router does not; it ignores load.
 */
final class OracleRouter implements FleetSim.Router {
    private final List<Worker> workers;
    private final Map<Integer, Worker> assigned = new HashMap<>();
    private int next;

    OracleRouter(List<Worker> workers) {
        this.workers = List.copyOf(workers);
    }

    @Override
    public Decision route(int conversation, RoutingKey key) {
        Worker w = assigned.get(conversation);
        if (w != null) {
            return new Decision(w, "sticky");
        }
        w = workers.get(next++ % workers.size());
        assigned.put(conversation, w);
        return new Decision(w, "new_conversation");
    }
}
