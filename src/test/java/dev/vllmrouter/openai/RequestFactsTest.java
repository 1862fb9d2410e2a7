package dev.vllmrouter.openai;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestFactsTest {
    private static RequestFacts parse(String json) {
        return RequestFacts.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsModelAndStreamAtTopLevelOnly() {
        RequestFacts f = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"model\":\"inner\"}],"
                + "\"model\":\"llama\",\"stream\":true,\"extra\":{\"stream\":false}}");
        assertThat(f.model()).isEqualTo("llama");
        assertThat(f.stream()).isTrue();
    }

    @Test
    void absentFieldsAreNullAndFalse() {
        RequestFacts f = parse("{\"prompt\":\"x\"}");
        assertThat(f.model()).isNull();
        assertThat(f.stream()).isFalse();
    }

    @Test
    void nonStringModelIsIgnored() {
        assertThat(parse("{\"model\":42}").model()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "{\"model\":}", "[1,2]", "\"text\"", "{\"a\":1} trailing", "{\"a\":1}{}",
            "{\"a\":[1,2}", "null"})
    void malformedBodiesAre400(String body) {
        assertThatThrownBy(() -> parse(body))
                .isInstanceOfSatisfying(RouterException.class,
                        e -> assertThat(e.error().status()).isEqualTo(400));
    }

    @Test
    void invalidUtf8Is400() {
        byte[] body = {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        assertThatThrownBy(() -> RequestFacts.parse(body))
                .isInstanceOfSatisfying(RouterException.class,
                        e -> assertThat(e.error().status()).isEqualTo(400));
    }

    @Test
    void errorJsonIsOpenAiShaped() {
        String json = OpenAiError.of(ErrorKind.BAD_REQUEST, "bad \"quote\"\n").toJson();
        assertThat(json).isEqualTo("{\"error\":{\"message\":\"bad \\\"quote\\\"\\n\",\"type\":\"BadRequestError\","
                + "\"param\":null,\"code\":400}}");
    }
}
