package dev.vllmrouter.discovery.k8s;

import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A pod as the fake API server holds it: only what discovery reads, plus enough of the rest that the JSON looks like
 * a real Pod, including fields no client model knows (a newer cluster's), which discovery must ignore.
 */
record FakePod(String uid, String namespace, String name, Map<String, String> labels,
               Map<String, String> annotations, String ip, String phase, boolean ready, boolean terminating) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A running, ready pod in namespace {@code default}; {@code labels} as {@code k1, v1, k2, v2...}. */
    static FakePod ready(String name, String ip, String... labels) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            map.put(labels[i], labels[i + 1]);
        }
        return new FakePod("uid-" + name, "default", name, Map.copyOf(map), Map.of(), ip, "Running", true, false);
    }

    FakePod inNamespace(String ns) {
        return new FakePod(uid, ns, name, labels, annotations, ip, phase, ready, terminating);
    }

    FakePod withLabels(String... kv) {
        return new FakePod(uid, namespace, name, ready(name, ip, kv).labels(), annotations, ip, phase, ready,
                terminating);
    }

    FakePod withAnnotation(String key, String value) {
        Map<String, String> map = new HashMap<>(annotations);
        map.put(key, value);
        return new FakePod(uid, namespace, name, labels, Map.copyOf(map), ip, phase, ready, terminating);
    }

    FakePod withReady(boolean r) {
        return new FakePod(uid, namespace, name, labels, annotations, ip, phase, r, terminating);
    }

    FakePod withPhase(String p) {
        return new FakePod(uid, namespace, name, labels, annotations, ip, p, ready, terminating);
    }

    FakePod withIp(String newIp) {
        return new FakePod(uid, namespace, name, labels, annotations, newIp, phase, ready, terminating);
    }

    FakePod beingDeleted() {
        return new FakePod(uid, namespace, name, labels, annotations, ip, phase, ready, true);
    }

    ObjectNode toJson(long resourceVersion) {
        ObjectNode pod = JSON.createObjectNode().put("kind", "Pod").put("apiVersion", "v1");
        ObjectNode meta = pod.putObject("metadata").put("name", name).put("namespace", namespace).put("uid", uid)
                .put("resourceVersion", Long.toString(resourceVersion))
                .put("creationTimestamp", "2025-01-01T00:00:00Z");
        labels.forEach(meta.putObject("labels")::put);
        annotations.forEach(meta.putObject("annotations")::put);
        if (terminating) {
            meta.put("deletionTimestamp", "2025-01-01T01:00:00Z").put("deletionGracePeriodSeconds", 30);
        }
        pod.putObject("spec").putArray("containers").addObject().put("name", "vllm")
                .put("image", "vllm/vllm-openai:latest");
        ObjectNode status = pod.putObject("status").put("phase", phase);
        if (ip != null) {
            status.put("podIP", ip);
            status.putArray("podIPs").addObject().put("ip", ip);
        }
        status.putArray("conditions")
                .add(JSON.createObjectNode().put("type", "PodScheduled").put("status", "True"))
                .add(JSON.createObjectNode().put("type", "Ready").put("status", ready ? "True" : "False"));
        status.putObject("aFieldFromAFutureKubernetes").put("anything", 1); // V1PodStatus would reject this
        return pod;
    }
}
