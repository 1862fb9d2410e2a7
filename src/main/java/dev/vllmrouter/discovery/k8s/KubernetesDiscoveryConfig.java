package dev.vllmrouter.discovery.k8s;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What Kubernetes discovery watches ({@code --service-discovery} and its flags, reference §2.5).
 * <p>Selectors are equality label selectors ({@code k=v}, all pairs must match) and are sent to the API server, so
 * they are validated here with Kubernetes' own label syntax: a bad one fails at start with a clear message instead of
 * a 400 from the API server on every retry. An empty selector matches nothing (as in vllm-router): it never means
 * "every pod in the namespace".
 *
 * @param selector        regular mode: the labels a worker pod carries ({@code --selector})
 * @param prefillSelector PD mode: labels of prefill pods ({@code --prefill-selector}); wins over decode
 * @param decodeSelector  PD mode: labels of decode pods ({@code --decode-selector})
 * @param port            the port of worker URLs {@code http://<podIP>:<port>} ({@code --service-discovery-port}, 80)
 * @param namespace       the namespace to watch ({@code --service-discovery-namespace}); {@code null} = all namespaces
 * @param pdMode          {@code --vllm-pd-disaggregation}: use the prefill/decode selectors instead of {@code selector}
 */
public record KubernetesDiscoveryConfig(Map<String, String> selector, Map<String, String> prefillSelector,
                                        Map<String, String> decodeSelector, int port, String namespace,
                                        boolean pdMode) {
    /** The annotation a prefill pod carries its Mooncake/SGLang bootstrap port in (fixed, as in vllm-router). */
    public static final String BOOTSTRAP_PORT_ANNOTATION = "vllm.ai/bootstrap-port";

    // https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern PREFIX =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    public KubernetesDiscoveryConfig {
        selector = checked("selector", selector);
        prefillSelector = checked("prefill selector", prefillSelector);
        decodeSelector = checked("decode selector", decodeSelector);
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("service discovery port: " + port + " (expected 1..65535)");
        }
        if (namespace != null && namespace.isBlank()) {
            namespace = null;
        }
    }

    /** Regular mode: pods carrying all of {@code selector} become workers. */
    public static KubernetesDiscoveryConfig regular(Map<String, String> selector, int port, String namespace) {
        return new KubernetesDiscoveryConfig(selector, Map.of(), Map.of(), port, namespace, false);
    }

    /** PD mode: prefill pods and decode pods, told apart by their selectors. */
    public static KubernetesDiscoveryConfig prefillDecode(Map<String, String> prefillSelector,
                                                          Map<String, String> decodeSelector, int port,
                                                          String namespace) {
        return new KubernetesDiscoveryConfig(Map.of(), prefillSelector, decodeSelector, port, namespace, true);
    }

    /** The {@code labelSelector} query value for {@code labels}: {@code k1=v1,k2=v2}, keys sorted. */
    static String labelSelector(Map<String, String> labels) {
        return labels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
    }

    private static Map<String, String> checked(String what, Map<String, String> labels) {
        if (labels == null) {
            return Map.of();
        }
        Map<String, String> sorted = new TreeMap<>();
        labels.forEach((k, v) -> {
            if (k == null || !validKey(k)) {
                throw new IllegalArgumentException(what + ": '" + k + "' is not a Kubernetes label key");
            }
            String value = v == null ? "" : v;
            if (!value.isEmpty() && !NAME.matcher(value).matches()) {
                throw new IllegalArgumentException(what + ": '" + k + "=" + value
                        + "' has a value that is not a Kubernetes label value");
            }
            sorted.put(k, value);
        });
        return java.util.Collections.unmodifiableMap(sorted);
    }

    private static boolean validKey(String key) {
        int slash = key.indexOf('/');
        if (slash < 0) {
            return NAME.matcher(key).matches();
        }
        String prefix = key.substring(0, slash);
        return prefix.length() <= 253 && PREFIX.matcher(prefix).matches()
                && NAME.matcher(key.substring(slash + 1)).matches();
    }
}
