package dev.vllmrouter.policy;

/**
 * The sticky key of a request for the hashing policies, in vllm-router's priority order: the first non-empty
 * {@link ConsistentHashPolicy#KEY_HEADERS} header ({@code header:<name>:<value>}), the body's session field
 * ({@code session:<v>} / {@code user:<v>}), and then — where vllm-router hashes a chat without a session to one fixed
 * worker — the conversation's leading messages ({@code conversation:<text>}).
 */
final class HashKeys {
    private HashKeys() {
    }

    /**
     * @param source receives at index 0 where the key came from (header name, {@code body_key}, {@code conversation})
     * @return the key, or {@code null} when the request has none
     */
    static String of(RoutingKey key, String[] source) {
        for (String header : ConsistentHashPolicy.KEY_HEADERS) {
            String v = key.header(header);
            if (v != null && !v.isEmpty()) {
                source[0] = header;
                return "header:" + header + ":" + v;
            }
        }
        String body = key.bodySessionKey();
        if (body != null) {
            source[0] = "body_key";
            return body;
        }
        String conversation = key.conversationKey();
        if (conversation != null) {
            source[0] = "conversation";
            return "conversation:" + conversation;
        }
        return null;
    }
}
