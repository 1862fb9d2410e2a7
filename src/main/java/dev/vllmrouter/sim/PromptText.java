package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The one text a generation request's prompt becomes inside the simulator: what {@link Tokens} counts
 * ({@code usage.prompt_tokens}) and what {@link PrefixCacheModel} caches. One rendering for every caller, so
 * token counts, cache hits and {@code /tokenize} agree.
 *
 * <p>Chat ({@code messages}): a stand-in for a chat template with a generation prompt. Each message in order
 * renders as {@code <|role|>\n} + content + {@code \n}; then {@code <|assistant|>\n} follows. Content is a
 * string, or an array of parts of which only {@code {"type":"text","text":...}} count (their texts joined
 * without separator); null or anything else renders as empty. Other message fields (name, tool calls) do not
 * render. Consequence: the generation prompt is exactly how the answer's assistant message begins, so turn
 * N+1 of a conversation (turn N's messages, the assistant answer, a new user message) starts with all of turn
 * N's text and hits every full block that turn N stored.
 *
 * <p>Completions ({@code prompt}): a string is itself; a token id renders as 4 characters (one token) derived
 * from its value; an array renders its elements one after another (the simulator does not split batched
 * prompts). The character count therefore equals the older estimate ({@link Tokens#estimate}).
 *
 * <p>Stateless, thread-safe.
 */
public final class PromptText {
    /** The generation prompt that ends every rendered conversation. */
    public static final String GENERATION_PROMPT = "<|assistant|>\n";

    private PromptText() {
    }

    /** Renders a {@code messages} array (anything else renders as just the generation prompt). */
    public static String chat(JsonNode messages) {
        StringBuilder sb = new StringBuilder(256);
        if (messages != null && messages.isArray()) {
            for (JsonNode message : messages) {
                appendMessage(sb, message.path("role").asText(""), content(message.get("content")));
            }
        }
        return sb.append(GENERATION_PROMPT).toString();
    }

    /** Appends one rendered message: {@code <|role|>\n content \n}. */
    public static StringBuilder appendMessage(StringBuilder sb, String role, CharSequence content) {
        return sb.append("<|").append(role).append("|>\n").append(content).append('\n');
    }

    /** Renders a completions {@code prompt} (string, token ids, or arrays of them). */
    public static String completion(JsonNode prompt) {
        if (prompt != null && prompt.isTextual()) {
            return prompt.textValue();
        }
        StringBuilder sb = new StringBuilder(256);
        appendPrompt(sb, prompt);
        return sb.toString();
    }

    private static void appendPrompt(StringBuilder sb, JsonNode node) {
        if (node == null || node.isNull()) {
            return;
        }
        if (node.isTextual()) {
            sb.append(node.textValue());
        } else if (node.isNumber()) {
            long id = node.asLong();
            for (int shift = 48; shift >= 0; shift -= 16) {
                sb.append((char) (id >>> shift));
            }
        } else if (node.isContainerNode()) {
            for (JsonNode child : node) {
                appendPrompt(sb, child);
            }
        }
    }

    private static CharSequence content(JsonNode content) {
        if (content == null) {
            return "";
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        if (!content.isArray()) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content) {
            if ("text".equals(part.path("type").asText(null))) {
                JsonNode text = part.get("text");
                if (text != null && text.isTextual()) {
                    sb.append(text.textValue());
                }
            }
        }
        return sb;
    }
}
