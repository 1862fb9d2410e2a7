package dev.vllmrouter.discovery.k8s;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The few fields of a Pod that discovery reads, taken from the API server's JSON with a tolerant reader.
 * <p>Why not client-java's {@code V1Pod}: its generated models reject any field they do not know
 * ("The field `x` in the JSON string is not defined in the `V1PodStatus` properties"), so every Kubernetes release
 * that adds a Pod field would stop discovery until the client is upgraded. Reading only what we need, and ignoring
 * the rest, makes discovery independent of the cluster's version.
 *
 * @param uid        {@code metadata.uid}: the identity discovery tracks a pod by (names are reused, UIDs are not)
 * @param name       {@code namespace/name}, for logs
 * @param labels     {@code metadata.labels}, never {@code null}
 * @param annotations {@code metadata.annotations}, never {@code null}
 * @param podIp      {@code status.podIP}, or {@code null} before the pod has one
 * @param phase      {@code status.phase}, {@code "Unknown"} when absent
 * @param ready      whether {@code status.conditions} holds {@code Ready=True}
 * @param terminating whether {@code metadata.deletionTimestamp} is set (graceful deletion has begun)
 */
record PodView(String uid, String name, Map<String, String> labels, Map<String, String> annotations, String podIp,
               String phase, boolean ready, boolean terminating) {

    static PodView of(JsonNode pod) {
        JsonNode meta = pod.path("metadata");
        JsonNode status = pod.path("status");
        String namespace = text(meta.path("namespace"));
        String name = (namespace == null ? "" : namespace + "/")
                + Objects.requireNonNullElse(text(meta.path("name")), "?");
        String uid = text(meta.path("uid"));
        boolean ready = false;
        for (JsonNode condition : status.path("conditions")) {
            if ("Ready".equals(text(condition.path("type")))) {
                ready = "True".equals(text(condition.path("status")));
            }
        }
        String phase = text(status.path("phase"));
        String ip = text(status.path("podIP"));
        return new PodView(uid == null ? name : uid, name, strings(meta.path("labels")),
                strings(meta.path("annotations")), ip == null || ip.isEmpty() ? null : ip,
                phase == null ? "Unknown" : phase, ready, !meta.path("deletionTimestamp").isMissingNode()
                && !meta.path("deletionTimestamp").isNull());
    }

    /** {@code metadata.resourceVersion} of an object in a watch event (also of a BOOKMARK), or {@code null}. */
    static String resourceVersion(JsonNode object) {
        return text(object.path("metadata").path("resourceVersion"));
    }

    private static String text(JsonNode node) {
        return node.isValueNode() && !node.isNull() ? node.asText() : null;
    }

    private static Map<String, String> strings(JsonNode object) {
        Map<String, String> map = new HashMap<>();
        object.properties().forEach(e -> map.put(e.getKey(), e.getValue().asText()));
        return Map.copyOf(map);
    }
}
