package dev.vllmrouter.config;

import java.util.regex.Pattern;

/**
 * Recognises the environment variables Kubernetes writes into every container for each Service of its namespace
 * (docker-link style "service links", on unless a pod sets {@code enableServiceLinks: false}). For a Service named
 * {@code vllm-router} with port 30000 they are:
 * <pre>
 *   VLLM_ROUTER_SERVICE_HOST=10.96.12.34          VLLM_ROUTER_SERVICE_PORT=30000
 *   VLLM_ROUTER_SERVICE_PORT_HTTP=30000           (one per named port)
 *   VLLM_ROUTER_PORT=tcp://10.96.12.34:30000
 *   VLLM_ROUTER_PORT_30000_TCP=tcp://10.96.12.34:30000
 *   VLLM_ROUTER_PORT_30000_TCP_PROTO=tcp   VLLM_ROUTER_PORT_30000_TCP_PORT=30000   VLLM_ROUTER_PORT_30000_TCP_ADDR=10.96.12.34
 * </pre>
 * Their names share this router's {@code VLLM_ROUTER_} settings prefix, and {@code VLLM_ROUTER_PORT} even names a
 * flag ({@code --port}), as {@code VLLM_ROUTER_PROMETHEUS_PORT} would for a Service named
 * {@code vllm-router-prometheus}. They are never settings.
 * <p>Invariant: a variable is a service link when its name has one of the shapes above, or when its value is a
 * service-link address ({@code tcp|udp|sctp://host:port}), which no setting of this router takes.
 */
final class KubernetesServiceLinks {
    private static final Pattern NAME = Pattern.compile(
            "[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)");
    private static final Pattern VALUE = Pattern.compile("(?i)(tcp|udp|sctp)://\\S+:[0-9]+");

    private KubernetesServiceLinks() {
    }

    static boolean isServiceLink(String name, String value) {
        return NAME.matcher(name).matches() || (value != null && VALUE.matcher(value.trim()).matches());
    }
}
