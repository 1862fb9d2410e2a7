package dev.vllmrouter.policy;

import java.util.Map;

/** A {@link RoutingKey} with given parts, for policy tests. */
record Keys(String route, String model, Map<String, String> headers, String bodySessionKey, String conversationKey,
            String promptText) implements RoutingKey {

    static Keys model(String model) {
        return new Keys("/v1/chat/completions", model, Map.of(), null, null, "");
    }

    static Keys header(String name, String value) {
        return new Keys("/v1/chat/completions", null, Map.of(name, value), null, null, "");
    }

    static Keys session(String key) {
        return new Keys("/v1/chat/completions", null, Map.of(), key, null, "");
    }

    static Keys conversation(String leading, String text) {
        return new Keys("/v1/chat/completions", null, Map.of(), null, leading, text);
    }

    static Keys prompt(String text) {
        return new Keys("/v1/completions", null, Map.of(), null, null, text);
    }

    @Override
    public String header(String lowerCaseName) {
        return headers.get(lowerCaseName);
    }
}
