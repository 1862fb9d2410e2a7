package dev.vllmrouter.openai;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RoutingFieldsTest {
    private static RoutingFields parse(String json) {
        return RoutingFields.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void sessionKeyPriorityAndFormat() {
        assertThat(parse("{\"user\":\"bob\",\"session_params\":{\"session_id\":\"s1\"}}").sessionKey())
                .isEqualTo("session:s1");
        assertThat(parse("{\"session_id\":\"s2\",\"user\":\"bob\"}").sessionKey()).isEqualTo("user:bob");
        assertThat(parse("{\"session_id\":\"s2\",\"user_id\":\"u\"}").sessionKey()).isEqualTo("session:s2");
        assertThat(parse("{\"user_id\":\"u\"}").sessionKey()).isEqualTo("user:u");
        assertThat(parse("{\"user\":\"\"}").sessionKey()).isNull();
        // a "user" inside the prompt text is not a key (vllm-router's text scan would take it)
        assertThat(parse("{\"prompt\":\"\\\"user\\\": \\\"eve\\\"\"}").sessionKey()).isNull();
    }

    @Test
    void chatTextGrowsTurnByTurnAndTheConversationKeyStays() {
        String turn1 = "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Hi\"}]}";
        String turn2 = "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello!\"},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"And?\"}]}]}";
        RoutingFields a = parse(turn1);
        RoutingFields b = parse(turn2);
        assertThat(a.promptText()).isEqualTo("<|system|>\nBe brief.\n<|user|>\nHi\n");
        assertThat(b.promptText()).startsWith(a.promptText()).endsWith("<|user|>\nAnd?\n");
        assertThat(b.conversationKey()).isEqualTo(a.conversationKey()).isEqualTo(a.promptText());
    }

    @Test
    void completionPromptsInTheirForms() {
        assertThat(parse("{\"prompt\":\"Once\"}").promptText()).isEqualTo("Once");
        assertThat(parse("{\"prompt\":[\"first\",\"second\"]}").promptText()).isEqualTo("first");
        assertThat(parse("{\"prompt\":[1,2,3]}").promptText()).isEqualTo("1 2 3 ");
        assertThat(parse("{\"input\":\"embed me\"}").promptText()).isEqualTo("embed me");
        assertThat(parse("{\"text\":\"gen\"}").promptText()).isEqualTo("gen");
        assertThat(parse("{\"model\":\"m\"}").promptText()).isEmpty();
        assertThat(parse("{\"model\":\"m\"}").conversationKey()).isNull();
        assertThat(RoutingFields.parse("not json".getBytes(StandardCharsets.UTF_8))).isEqualTo(RoutingFields.EMPTY);
    }
}
