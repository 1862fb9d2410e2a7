package dev.vllmrouter.bench;

import java.util.List;

import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.policy.prefix.PrefixTree;
import dev.vllmrouter.worker.Worker;

/**
 * vllm-router's cache_aware decision rule (reference §7.6, with its CLI defaults), for comparison: if the fleet is
 * imbalanced (max − min load &gt; 64 and max &gt; 1.5 × min) the least-loaded worker; else the worker holding the
 * longest matched prefix when the match rate exceeds 0.3; else the least-loaded worker (first of ties); the text is
 * then recorded for the chosen worker. Fed the whole rendered conversation (the upstream SGLang behaviour — vllm-router
 * MAIN keys chat on the session id only, which these requests do not carry), using the router's own tree.
 */
final class VllmRouterRule implements FleetSim.Router {
    private final List<Worker> workers;
    private final PrefixTree tree = new PrefixTree();

    VllmRouterRule(List<Worker> workers) {
        this.workers = List.copyOf(workers);
    }

    @Override
    public Decision route(int conversation, RoutingKey key) {
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        Worker least = null;
        for (Worker w : workers) {
            int load = w.load();
            if (load < min) {
                min = load;
                least = w;
            }
            max = Math.max(max, load);
        }
        String text = key.promptText();
        Decision d;
        if (max - min > 64 && max > min * 1.5) {
            d = new Decision(least, "load_balance");
        } else {
            PrefixTree.Match m = tree.match(text);
            double rate = m.inputChars() == 0 ? 0 : (double) m.longest() / m.inputChars();
            Worker owner = m.tenants().isEmpty() ? null : find(m.tenants().get(0));
            d = rate > 0.3 && owner != null ? new Decision(owner, "cache_hit", rate) : new Decision(least, "min_load");
        }
        tree.insert(text, d.worker().id());
        return d;
    }

    private Worker find(String id) {
        for (Worker w : workers) {
            if (w.id().equals(id)) {
                return w;
            }
        }
        return null;
    }
}
