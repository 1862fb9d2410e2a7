package dev.vllmrouter.openai;

import java.io.IOException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What routing policies read from an OpenAI body beyond the model, parsed on demand (only consistent_hash and
 * cache_aware ask): the explicit session key, the conversation's identity, and the prompt text.
 * <ul>
 *   <li>{@link #sessionKey()}: {@code session_params.session_id}, {@code user}, {@code session_id}, {@code user_id},
 *       first non-empty string wins, as {@code session:<v>} or {@code user:<v>} (vllm-router's key format);</li>
 *   <li>{@link #promptText()}: chat {@code messages} rendered in order, each as {@code <|role|>\n} + its text +
 *       {@code \n} (text parts of array contents, tool-call arguments included), so turn N's text is a prefix of turn
 *       N+1's; {@code prompt} for completions (a list of prompts: the first; token ids: the numbers separated by
 *       spaces); {@code input} for the Responses and embeddings APIs;</li>
 *   <li>{@link #conversationKey()}: for chat, the rendering of the messages up to and including the first user
 *       message — the same on every turn of one conversation; otherwise the prompt text.</li>
 * </ul>
 * A body that is not a JSON object yields empty fields (the request path validated JSON routes already).
 */
public record RoutingFields(String sessionKey, String conversationKey, String promptText) {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final RoutingFields EMPTY = new RoutingFields(null, null, "");

    public static RoutingFields parse(byte[] body) {
        if (body == null || body.length == 0) {
            return EMPTY;
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            return EMPTY;
        }
        if (root == null || !root.isObject()) {
            return EMPTY;
        }
        String session = firstNonEmpty(
                prefixed("session:", root.path("session_params").path("session_id")),
                prefixed("user:", root.path("user")),
                prefixed("session:", root.path("session_id")),
                prefixed("user:", root.path("user_id")));
        JsonNode messages = root.get("messages");
        if (messages != null && messages.isArray()) {
            StringBuilder text = new StringBuilder(256);
            String conversation = null;
            for (JsonNode m : messages) {
                String role = m.path("role").asText("");
                text.append("<|").append(role).append("|>\n");
                appendContent(text, m.get("content"));
                JsonNode toolCalls = m.get("tool_calls");
                if (toolCalls != null && toolCalls.isArray()) {
                    for (JsonNode call : toolCalls) {
                        text.append(call.path("function").path("name").asText("")).append('(')
                                .append(call.path("function").path("arguments").asText("")).append(')');
                    }
                }
                text.append('\n');
                if (conversation == null && role.equals("user")) {
                    conversation = text.toString();
                }
            }
            String prompt = text.toString();
            return new RoutingFields(session, conversation != null ? conversation : emptyToNull(prompt), prompt);
        }
        String prompt = promptOf(root.get("prompt"));
        if (prompt.isEmpty()) {
            prompt = promptOf(root.get("input"));
        }
        if (prompt.isEmpty()) {
            prompt = root.path("text").asText(""); // /generate
        }
        return new RoutingFields(session, emptyToNull(prompt), prompt);
    }

    private static String promptOf(JsonNode p) {
        if (p == null || p.isNull()) {
            return "";
        }
        if (p.isTextual()) {
            return p.asText();
        }
        if (p.isArray() && !p.isEmpty()) {
            JsonNode first = p.get(0);
            if (first.isNumber()) {
                StringBuilder sb = new StringBuilder(p.size() * 6);
                for (JsonNode t : p) {
                    sb.append(t.asLong()).append(' ');
                }
                return sb.toString();
            }
            if (first.isObject() && first.has("role")) {
                // Responses API input given as messages
                StringBuilder text = new StringBuilder(256);
                for (JsonNode m : p) {
                    text.append("<|").append(m.path("role").asText("")).append("|>\n");
                    appendContent(text, m.get("content"));
                    text.append('\n');
                }
                return text.toString();
            }
            return promptOf(first);
        }
        return "";
    }

    private static void appendContent(StringBuilder text, JsonNode content) {
        if (content == null || content.isNull()) {
            return;
        }
        if (content.isTextual()) {
            text.append(content.asText());
        } else if (content.isArray()) {
            for (JsonNode part : content) {
                JsonNode t = part.get("text");
                if (t != null && t.isTextual()) {
                    text.append(t.asText());
                }
            }
        }
    }

    private static String prefixed(String prefix, JsonNode v) {
        return v != null && v.isTextual() && !v.asText().isEmpty() ? prefix + v.asText() : null;
    }

    private static String firstNonEmpty(String... values) {
        for (String v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
