package dev.vllmrouter.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class AnswerTextTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aPlainAnswersMessageContent() {
        AnswerText t = new AnswerText();
        byte[] body = b("{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                + "\"content\":\"Héllo \\\"there\\\"\\n\"},\"finish_reason\":\"stop\"}],\"usage\":{}}");
        assertThat(t.bodyHook().apply(body)).isSameAs(body);
        assertThat(t.text()).isEqualTo("Héllo \"there\"\n");
    }

    @Test
    void aStreamsDeltasJoinedAndTheEndAndCommentsIgnored() {
        AnswerText t = new AnswerText();
        for (String e : new String[] {
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            ": keep-alive\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n\n",
            "data: [DONE]\n\n"}) {
            t.eventHook().apply(b(e));
        }
        assertThat(t.text()).isEqualTo("Hello");
    }

    @Test
    void severalChoicesToolCallsAndBrokenJsonGiveNoText() {
        AnswerText n2 = new AnswerText();
        n2.eventHook().apply(b("data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"b\"}}]}\n\n"));
        assertThat(n2.text()).isNull();
        AnswerText tools = new AnswerText();
        tools.bodyHook().apply(b("{\"choices\":[{\"index\":0,\"message\":{\"content\":null,\"tool_calls\":[]}}]}"));
        assertThat(tools.text()).isNull();
        AnswerText broken = new AnswerText();
        broken.eventHook().apply(b("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"));
        broken.eventHook().apply(b("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}\n\n"));
        assertThat(broken.text()).isNull();
    }
}
