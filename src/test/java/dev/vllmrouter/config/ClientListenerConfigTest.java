package dev.vllmrouter.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ClientListenerConfigTest {
    private static final Map<String, String> NO_ENV = Map.of();

    @Test
    void theDefaultCapIsHalfOfWhatTheDescriptorLimitLeaves() {
        assertThat(ClientListenerConfig.defaultMaxConnections(1024, 150)).isEqualTo((1024 - 150 - 64) / 2);
        assertThat(ClientListenerConfig.defaultMaxConnections(1_048_576, 150)).isEqualTo((1_048_576 - 150 - 64) / 2);
        assertThat(ClientListenerConfig.defaultMaxConnections(100, 90)).as("at least one").isEqualTo(1);
        assertThat(ClientListenerConfig.defaultMaxConnections(-1, 0)).as("limit unknown: no cap")
                .isEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void flagsAreReadAndChecked() {
        ClientListenerConfig c = RouterCli.parse(NO_ENV, "--max-client-connections", "10",
                "--client-header-timeout-secs", "5", "--client-idle-timeout-secs", "7",
                "--tls-cipher-suites", "TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").clientListener();
        assertThat(c.maxConnections()).isEqualTo(10);
        assertThat(c.headerTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.idleTimeout()).isEqualTo(Duration.ofSeconds(7));
        assertThat(c.tlsCipherSuites()).containsExactly("TLS_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");

        ClientListenerConfig d = RouterCli.parse(NO_ENV).clientListener();
        assertThat(d.maxConnections()).isPositive();
        assertThat(d.headerTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(d.idleTimeout()).isEqualTo(Duration.ofSeconds(75));
        assertThat(d.tlsCipherSuites()).isEqualTo(ClientListenerConfig.DEFAULT_TLS_CIPHER_SUITES)
                .noneMatch(s -> s.contains("CBC"));

        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--max-client-connections", "0"))
                .hasMessageContaining("--max-client-connections");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--client-header-timeout-secs", "0"))
                .hasMessageContaining("--client-header-timeout-secs");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--client-idle-timeout-secs", "0"))
                .hasMessageContaining("--client-idle-timeout-secs");
    }
}
