package dev.vllmrouter.server;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The request log line cannot be forged or blown up by what a client puts in its request. */
class RequestLoggerTest {
    @Test
    void plainTokensGoAsTheyAre() {
        assertThat(RequestLogger.text("meta-llama/Llama-3.1-8B-Instruct")).isEqualTo("meta-llama/Llama-3.1-8B-Instruct");
        assertThat(RequestLogger.text("http://10.0.0.1:8000,http://10.0.0.2:8000@1"))
                .isEqualTo("http://10.0.0.1:8000,http://10.0.0.2:8000@1");
    }

    @Test
    void aValueCannotEndTheLineOrCarryEscapeCodes() {
        String forged = "m\n2026-12-07T00:00:00Z INFO dev.vllmrouter.requests: request request_id=x status=200";
        String logged = RequestLogger.text(forged);
        assertThat(logged).doesNotContain("\n").startsWith("\"m\\n2026").endsWith("status=200\"");
        assertThat(RequestLogger.text("\u001b[31mred\u0000")).isEqualTo("\"\\u001b[31mred\\u0000\"");
        assertThat(RequestLogger.text("a b=\"c\"\\")).isEqualTo("\"a b=\\\"c\\\"\\\\\"");
        assertThat(RequestLogger.text("")).isEqualTo("\"\"");
        assertThat(RequestLogger.text("modèle")).isEqualTo("\"mod\\u00e8le\"");
    }

    @Test
    void aHugeValueIsCut() {
        String model = "x".repeat(15_000_000);
        String capped = RequestLogger.capped(model);
        assertThat(capped).hasSize(RequestLogger.MAX_FIELD + "...(14999744 more)".length())
                .endsWith("...(14999744 more)");
        assertThat(RequestLogger.capped("short")).isEqualTo("short");
    }
}
