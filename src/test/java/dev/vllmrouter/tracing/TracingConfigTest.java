package dev.vllmrouter.tracing;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TracingConfigTest {
    @Test
    void defaultsAreVllmRoutersFlags() {
        TracingConfig c = TracingConfig.of(true, null, null, 1.0, List.of());

        assertThat(c).isEqualTo(new TracingConfig(true, "localhost:4318", 1.0,
                List.of("/health", "/health_generate", "/liveness", "/readiness"), "vllm-router"));
    }

    @Test
    void theFlagWinsOverTheEnvironmentWhichWinsOverTheDefault() {
        assertThat(TracingConfig.of(true, "otel:4318", "http://env:4318", 1, null).endpoint()).isEqualTo("otel:4318");
        assertThat(TracingConfig.of(true, null, "http://env:4318", 1, null).endpoint()).isEqualTo("http://env:4318");
        assertThat(TracingConfig.of(true, " ", " ", 1, null).endpoint()).isEqualTo("localhost:4318");
    }

    @Test
    void aNonEmptyExcludedListReplacesTheDefaults() {
        assertThat(TracingConfig.of(true, null, null, 1, List.of("/metrics")).excludedPaths())
                .containsExactly("/metrics");
        assertThat(TracingConfig.of(true, null, null, 1, null).excludedPaths())
                .isEqualTo(TracingConfig.DEFAULT_EXCLUDED_PATHS);
    }

    @Test
    void disabledNeedsNoEndpoint() {
        assertThat(TracingConfig.of(false, "otel:4318", null, 0.5, null).endpoint()).isNull();
        assertThat(TracingConfig.disabled().enabled()).isFalse();
    }

    @Test
    void aRatioOutsideZeroToOneIsRefusedWithTheFlagName() {
        assertThatThrownBy(() -> TracingConfig.of(true, null, null, 2, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--otel-sampling-ratio");
    }
}
