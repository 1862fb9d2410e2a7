package dev.vllmrouter.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;

import org.junit.jupiter.api.Test;

class RequestTargetTest {
    @Test
    void aPlainPathIsTheSameString() {
        String p = "/v1/chat/completions";
        assertThat(RequestTarget.normalise(p)).isSameAs(p);
        assertThat(RequestTarget.normalise("/v1/files/.hidden")).isEqualTo("/v1/files/.hidden");
    }

    @Test
    void dotSegmentsAndRepeatedSlashesAreRemoved() {
        assertThat(RequestTarget.normalise("/x/../v1/chat/./completions")).isEqualTo("/v1/chat/completions");
        assertThat(RequestTarget.normalise("/v1//chat/completions")).isEqualTo("/v1/chat/completions");
        assertThat(RequestTarget.normalise("//v1/models")).isEqualTo("/v1/models");
        assertThat(RequestTarget.normalise("/a/b/..")).isEqualTo("/a/");
    }

    @Test
    void encodedDotsStayAsTheyAreAsInHelidonsRouting() {
        // Helidon normalises before decoding: %2E%2E is routed as a literal ".." segment, and forwarded as it came
        assertThat(RequestTarget.normalise("/x/%2E%2E/v1/models")).isEqualTo("/x/%2E%2E/v1/models");
        assertThat(RequestTarget.normalise("/v1/chat%2Fcompletions")).isEqualTo("/v1/chat%2Fcompletions");
    }

    @Test
    void anAbsoluteFormTargetBecomesItsPath() {
        assertThat(RequestTarget.normalise("http://router:8000/v1/chat/completions"))
                .isEqualTo("/v1/chat/completions");
        assertThat(RequestTarget.normalise("http://router:8000")).isEqualTo("/");
        assertThat(RequestTarget.normalise("*")).isEqualTo("*");
    }

    @Test
    void whatIsForwardedDecodesToWhatHelidonRouted() {
        for (String raw : new String[] {"/x/../v1/chat/completions", "/a/./b//c/%41", "http://h/v1/x/../y",
                "/../v1/models", "/v1/%63hat/completions"}) {
            String helidonRoutes = URI.create(raw).normalize().getPath();
            assertThat(URI.create(RequestTarget.normalise(raw)).getPath()).as(raw).isEqualTo(helidonRoutes);
        }
    }
}
