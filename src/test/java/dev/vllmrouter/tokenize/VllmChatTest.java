package dev.vllmrouter.tokenize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

/** The template variables vLLM builds from a chat request (vllm/entrypoints/chat_utils.py). */
class VllmChatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Map<String, Object> vars(String body, VllmChat.ContentFormat format) throws Exception {
        return VllmChat.variables(JSON.readTree(body), Map.of("bos_token", "<s>"), format);
    }

    @Test
    @SuppressWarnings("unchecked")
    void messagesAreRebuiltWithVllmsFieldsOnly() throws Exception {
        Map<String, Object> v = vars("""
                {"messages": [
                  {"role": "user", "content": [{"type": "text", "text": "a"}, "b", {"type": "text", "text": null}],
                   "name": "alice", "extra": 1},
                  {"role": "assistant", "content": null, "reasoning": "r", "tool_calls": [
                    {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{\\"x\\": [1, 2.5]}"}},
                    {"id": "2", "type": "function", "function": {"name": "g", "arguments": "oops"}},
                    {"id": "3", "type": "function", "function": {"name": "h", "arguments": null}}]},
                  {"role": "assistant", "content": "done", "tool_calls": []},
                  {"role": "tool", "tool_call_id": "1", "content": [{"type": "text", "text": "r1"}, {"type": "text", "text": "r2"}]}
                ]}""", VllmChat.ContentFormat.STRING);
        List<Map<String, Object>> messages = (List<Map<String, Object>>) v.get("messages");
        assertThat(messages.get(0)).containsExactly(Map.entry("role", "user"), Map.entry("content", "a\nb"),
                Map.entry("name", "alice"));
        Map<String, Object> call = messages.get(1);
        assertThat(call.get("content")).isEqualTo("");
        assertThat(call.get("reasoning")).isEqualTo("r");
        assertThat(call.get("reasoning_content")).isEqualTo("r");
        List<Map<String, Object>> calls = (List<Map<String, Object>>) call.get("tool_calls");
        assertThat(((Map<String, Object>) calls.get(0).get("function")).get("arguments"))
                .isEqualTo(Map.of("x", List.of(1L, 2.5)));
        assertThat(((Map<String, Object>) calls.get(1).get("function")).get("arguments")).isEqualTo(Map.of());
        assertThat(((Map<String, Object>) calls.get(2).get("function")).get("arguments")).isEqualTo(Map.of());
        assertThat(messages.get(2)).doesNotContainKey("tool_calls");
        assertThat(messages.get(3)).containsEntry("content", "r1\nr2").containsEntry("tool_call_id", "1");
        assertThat(v).containsEntry("add_generation_prompt", true).containsEntry("bos_token", "<s>")
                .containsEntry("tools", null).containsEntry("documents", null);
    }

    @Test
    void toolsAreDumpedAsPydanticDoes() throws Exception {
        Map<String, Object> v = vars("""
                {"messages": [], "tools": [{"function": {"strict": true, "name": "f"}, "x": 1}],
                 "chat_template_kwargs": {"enable_thinking": false, "bos_token": "B"}, "add_generation_prompt": false}""",
                VllmChat.ContentFormat.STRING);
        assertThat(PythonJson.dumps(v.get("tools"), null, false)).isEqualTo("[{\"type\": \"function\", \"function\": "
                + "{\"name\": \"f\", \"description\": null, \"parameters\": null, \"strict\": true}, \"x\": 1}]");
        assertThat(v).containsEntry("enable_thinking", false).containsEntry("bos_token", "B")
                .containsEntry("add_generation_prompt", false);
        assertThat(vars("{\"messages\": [], \"tools\": []}", VllmChat.ContentFormat.STRING))
                .as("an empty list is no tools").containsEntry("tools", null);
    }

    @Test
    @SuppressWarnings("unchecked")
    void templatesThatLoopOverContentGetTypedParts() throws Exception {
        assertThat(VllmChat.ContentFormat.detect("{% for part in message['content'] %}")).isEqualTo(
                VllmChat.ContentFormat.OPENAI);
        assertThat(VllmChat.ContentFormat.detect("{{ message.content }}")).isEqualTo(VllmChat.ContentFormat.STRING);
        Map<String, Object> v = vars("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                VllmChat.ContentFormat.OPENAI);
        assertThat(((List<Map<String, Object>>) v.get("messages")).getFirst().get("content"))
                .isEqualTo(List.of(Map.of("type", "text", "text", "hi")));
    }

    @Test
    void whatTheRouterCannotTokenizeIsRefused() {
        JsonNode image = JSON.createObjectNode().set("messages", JSON.createArrayNode().add(JSON.createObjectNode()
                .put("role", "user").set("content", JSON.createArrayNode().add(JSON.createObjectNode()
                        .put("type", "image_url")))));
        assertThatThrownBy(() -> VllmChat.variables(image, Map.of(), VllmChat.ContentFormat.STRING))
                .isInstanceOf(TokenizeException.class).hasMessageContaining("image_url");
        assertThatThrownBy(() -> vars("{\"messages\": [], \"chat_template\": \"x\"}", VllmChat.ContentFormat.STRING))
                .isInstanceOf(TokenizeException.class).hasMessageContaining("chat_template");
        assertThatThrownBy(() -> vars("{\"messages\": \"x\"}", VllmChat.ContentFormat.STRING))
                .isInstanceOf(TokenizeException.class);
    }
}
