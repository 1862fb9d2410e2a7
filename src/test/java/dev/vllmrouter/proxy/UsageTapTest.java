package dev.vllmrouter.proxy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class UsageTapTest {
    private static int of(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return UsageTap.cachedTokens(b, 0, b.length);
    }

    @Test
    void readsCachedTokensOrSaysWhatIsMissing() {
        assertThat(of("{\"choices\":[],\"usage\":{\"prompt_tokens\":40,\"total_tokens\":50,"
                + "\"prompt_tokens_details\":{\"cached_tokens\": 32}}}")).isEqualTo(32);
        assertThat(of("{\"usage\":{\"prompt_tokens\":40,\"prompt_tokens_details\":null}}"))
                .isEqualTo(UsageTap.NO_DETAILS);
        assertThat(of("{\"choices\":[{\"text\":\"say \\\"cached_tokens\\\": 7\"}]}")).isEqualTo(UsageTap.NO_USAGE);
        assertThat(of("{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":null}}}"))
                .isEqualTo(UsageTap.NO_DETAILS);
    }

    @Test
    void inAStreamTheLastUsageCounts() {
        UsageTap tap = new UsageTap();
        var hook = tap.eventHook();
        byte[] token = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n".getBytes(StandardCharsets.UTF_8);
        assertThat(hook.apply(token)).isSameAs(token);
        assertThat(tap.reported()).isEqualTo(UsageTap.NO_USAGE);
        hook.apply("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":16}}}\n\n"
                .getBytes(StandardCharsets.UTF_8));
        hook.apply("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        assertThat(tap.reported()).isEqualTo(16);
    }
}
