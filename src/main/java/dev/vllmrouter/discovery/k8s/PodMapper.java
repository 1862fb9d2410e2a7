package dev.vllmrouter.discovery.k8s;

import java.util.Map;
import java.util.Optional;

import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerSpec;

/**
 * Decides whether a pod is a worker right now, and which: a pure function of the pod and the configuration.
 * <ul>
 *   <li>Role: regular mode, the pod carries every {@code selector} label; PD mode, it carries every prefill label
 *       ({@link Role#PREFILL}, which wins when both match), else every decode label ({@link Role#DECODE}). An empty
 *       selector matches nothing.</li>
 *   <li>In rotation: it has a pod IP, phase {@code Running}, condition {@code Ready=True}, and no deletion
 *       timestamp. vllm-router keeps a pod that turns NotReady and drops it only once deleted; here a pod that stops
 *       being ready (or starts terminating) leaves at once and comes back when ready again.</li>
 *   <li>URL: {@code http://<podIP>:<port>}, an IPv6 address in brackets. A prefill pod's bootstrap port comes from
 *       the {@value KubernetesDiscoveryConfig#BOOTSTRAP_PORT_ANNOTATION} annotation; a value that is not a port
 *       means none ({@code -1}), as in vllm-router.</li>
 * </ul>
 * The labels are checked here even though the API server already filters by them: a watch without a selector, a
 * proxy that ignores it, or a MODIFIED event that relabels a pod must all come out right.
 */
final class PodMapper {
    private final KubernetesDiscoveryConfig config;

    PodMapper(KubernetesDiscoveryConfig config) {
        this.config = config;
    }

    /** The role the pod's labels give it, whatever its state; empty when no selector matches. */
    Optional<Role> role(Map<String, String> labels) {
        if (!config.pdMode()) {
            return matches(config.selector(), labels) ? Optional.of(Role.REGULAR) : Optional.empty();
        }
        if (matches(config.prefillSelector(), labels)) {
            return Optional.of(Role.PREFILL);
        }
        return matches(config.decodeSelector(), labels) ? Optional.of(Role.DECODE) : Optional.empty();
    }

    /** The worker this pod is now, or empty when it is not one (wrong labels, not ready, no IP, terminating). */
    Optional<WorkerSpec> worker(PodView pod) {
        Optional<Role> role = role(pod.labels());
        if (role.isEmpty() || !inRotation(pod)) {
            return Optional.empty();
        }
        String host = pod.podIp().indexOf(':') >= 0 ? "[" + pod.podIp() + "]" : pod.podIp();
        WorkerUrl url = WorkerUrl.parse("http://" + host + ":" + config.port());
        int bootstrap = role.get() == Role.PREFILL
                ? port(pod.annotations().get(KubernetesDiscoveryConfig.BOOTSTRAP_PORT_ANNOTATION)) : -1;
        return Optional.of(new WorkerSpec(url, role.get(), bootstrap, null));
    }

    static boolean inRotation(PodView pod) {
        return pod.podIp() != null && "Running".equals(pod.phase()) && pod.ready() && !pod.terminating();
    }

    private static boolean matches(Map<String, String> selector, Map<String, String> labels) {
        if (selector.isEmpty()) {
            return false;
        }
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static int port(String text) {
        if (text == null) {
            return -1;
        }
        try {
            int p = Integer.parseInt(text.trim());
            return p >= 1 && p <= 65_535 ? p : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
