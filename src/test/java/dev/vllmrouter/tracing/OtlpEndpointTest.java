package dev.vllmrouter.tracing;

import java.net.URI;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OtlpEndpointTest {
    @ParameterizedTest
    @CsvSource({
            "otel:4318,                              http://otel:4318/v1/traces",
            "127.0.0.1:4318,                         http://127.0.0.1:4318/v1/traces",
            "http://otel:4318,                       http://otel:4318/v1/traces",
            "http://otel:4318/,                      http://otel:4318/v1/traces",
            "https://otel.example.com,               https://otel.example.com/v1/traces",
            "http://gateway:8080/otlp,               http://gateway:8080/otlp/v1/traces",
            "http://otel:4318/v1/traces,             http://otel:4318/v1/traces",
            "' http://[::1]:4318 ',                  http://[::1]:4318/v1/traces",
    })
    void hostPortOrABaseUrlBecomesTheTracesUrl(String endpoint, String expected) {
        assertThat(OtlpHttpExporter.tracesUri(endpoint)).isEqualTo(URI.create(expected));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "http://", "otel:4318?x=1", "http://otel:4318/#f", "a b:1"})
    void anythingElseIsRefusedAtStart(String endpoint) {
        assertThatThrownBy(() -> OtlpHttpExporter.tracesUri(endpoint))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("OTLP endpoint");
    }

    @Test
    void creatingTracingWithABadEndpointFails() {
        assertThatThrownBy(() -> Tracing.create(TracingConfig.of(true, "http://", null, 1, null)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
