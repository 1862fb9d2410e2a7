package dev.vllmrouter.tokenize;

import java.util.List;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * How a chat template renders an earlier assistant turn within its cached segment: the text before and after the
 * content, from the cut before it to the cut after it (Qwen3: {@code "assistant\n"} and {@code "<|im_end|>"}; Llama
 * 3.1: {@code "\n\n"} and {@code "<|eot_id|>"}), so that {@link PromptTokenizer#warmAnswer} can encode a worker's
 * answer into the segment it will have in the conversation's next prompt.
 * <p>Learned by {@link #probe}: two renders that differ in everything but the template (system prompt, history,
 * content, the question that follows) must agree. A wrong wrap would only cost a cache entry nobody reads: segments
 * are found by their exact text.
 */
record AnswerWrap(String prefix, String suffix) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param render a chat body's rendered prompt ({@link PromptTokenizer#chatPrompt})
     * @param cuts   where prompts are cut into cached segments
     * @return the wrap, or {@code null} when the renders disagree, the content does not sit inside one segment, or
     *         rendering fails
     */
    static AnswerWrap probe(Function<JsonNode, String> render, SpecialTokenCuts cuts) {
        try {
            String one = "probe answer one with plain words";
            String two = "another probe answer, different text";
            AnswerWrap a = of(render, cuts, List.of("user", "hello", "assistant", one, "user", "what next"), one);
            AnswerWrap b = of(render, cuts, List.of("system", "be brief", "user", "first", "assistant", "ok",
                    "user", "again", "assistant", two, "user", "and then"), two);
            return a != null && a.equals(b) ? a : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static AnswerWrap of(Function<JsonNode, String> render, SpecialTokenCuts cuts, List<String> roleContent,
                                 String content) {
        ObjectNode request = JSON.createObjectNode();
        ArrayNode messages = request.putArray("messages");
        for (int i = 0; i < roleContent.size(); i += 2) {
            messages.addObject().put("role", roleContent.get(i)).put("content", roleContent.get(i + 1));
        }
        String text = render.apply(request);
        int at = text.indexOf(content);
        if (at < 0 || text.indexOf(content, at + 1) >= 0) {
            return null;
        }
        int start = 0;
        int end = -1;
        for (int e : cuts.segmentEnds(text)) {
            if (e <= at) {
                start = e;
            } else {
                end = e;
                break;
            }
        }
        if (end < at + content.length() || end == text.length()) {
            return null; // the content crosses a cut, or its segment is the prompt's tail (never cached alone)
        }
        return new AnswerWrap(text.substring(start, at), text.substring(at + content.length(), end));
    }
}
