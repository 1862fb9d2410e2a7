package dev.vllmrouter.sim;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The hand-written JSON renderer produces strings and numbers Jackson reads back unchanged. */
class ByteSinkTest {

    @ParameterizedTest
    @ValueSource(strings = {"", "plain", "quote \" backslash \\ slash /", "new\nline\ttab\r\b\f",
            "\u0000\u001f control", "é ü 日本語", "emoji \uD83D\uDE00 pair", "lone \uD800 surrogate"})
    void jsonStringRoundTrips(String s) throws Exception {
        byte[] json = new ByteSink(4).jsonString(s).toByteArray();
        assertThat(SimClient.JSON.readTree(json).textValue()).isEqualTo(s);
    }

    @Test
    void numbers() {
        ByteSink sink = new ByteSink(1);
        sink.append(0).ascii(",").append(-17).ascii(",").append(Long.MAX_VALUE).ascii(",").append(Long.MIN_VALUE);
        assertThat(new String(sink.toByteArray(), StandardCharsets.US_ASCII))
                .isEqualTo("0,-17," + Long.MAX_VALUE + "," + Long.MIN_VALUE);
    }

    @Test
    void nullRendersAsJsonNull() {
        assertThat(new String(new ByteSink(4).jsonString(null).toByteArray(), StandardCharsets.US_ASCII))
                .isEqualTo("null");
    }
}
