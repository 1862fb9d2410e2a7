package dev.vllmrouter.tracing;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

/** vllm-router's flags over the standard OTEL_* variables over the defaults. */
class TracingConfigTest {
    private static TracingConfig on(Map<String, String> env) {
        return TracingConfig.of(true, null, null, null, env);
    }

    private static TracingConfig.Export export(String flag, String... env) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i < env.length; i += 2) {
            map.put(env[i], env[i + 1]);
        }
        return TracingConfig.of(true, flag, null, null, map).export();
    }

    @Test
    void theDefaultIsVllmRoutersGrpcToLocalhost4317() {
        TracingConfig c = on(Map.of());

        assertThat(c.export()).isEqualTo(new TracingConfig.Export(OtlpProtocol.GRPC,
                URI.create("http://localhost:4317"), Map.of(), Duration.ofSeconds(10), "none"));
        assertThat(c.sampling()).isEqualTo(new TracingConfig.Sampling(true, 1.0));
        assertThat(c.excludedPaths()).containsExactly("/health", "/health_generate", "/liveness", "/readiness");
        assertThat(c.resource()).containsEntry("service.name", "vllm-router")
                .containsKeys("service.version", "service.instance.id");
        assertThat(c.batch()).isEqualTo(new TracingConfig.Batch(Duration.ofMillis(500), 2048, 64,
                Duration.ofSeconds(30)));
    }

    @ParameterizedTest(name = "[{index}] flag {0}, protocol {1}, traces env {2}, env {3}")
    @CsvSource(nullValues = "-", value = {
            // vllm-router's flag: host:port means http://host:port, and gRPC unless the protocol says otherwise
            "otel:4317,               -,             -,                      -,                   http://otel:4317",
            "otel:4318,               http/protobuf, -,                      -,                   http://otel:4318/v1/traces",
            "https://otel.example.com,-,             -,                      -,                   https://otel.example.com",
            "http://gw:8080/otlp/,    http/protobuf, -,                      -,                   http://gw:8080/otlp/v1/traces",
            "http://otel:4318/v1/traces, http/protobuf, -,                   -,                   http://otel:4318/v1/traces",
            "' http://[::1]:4317 ',   -,             -,                      -,                   http://[::1]:4317",
            // the flag wins over both variables
            "otel:4317,               -,             http://t:1,             http://e:2,          http://otel:4317",
            // then the traces variable, used as it is
            "-,                       http/protobuf, http://t:1/custom,      http://e:2,          http://t:1/custom",
            "-,                       -,             t:1,                    http://e:2,          http://t:1",
            // then the general one: a base for HTTP, as it is for gRPC
            "-,                       -,             -,                      http://e:2,          http://e:2",
            "-,                       http/protobuf, -,                      http://e:2,          http://e:2/v1/traces",
            "-,                       http/protobuf, -,                      http://e:2/base/,    http://e:2/base/v1/traces",
            "-,                       -,             -,                      e:2,                 http://e:2",
            // then the defaults of each protocol
            "-,                       http/protobuf, -,                      -,                   http://localhost:4318/v1/traces",
            "-,                       grpc,          -,                      -,                   http://localhost:4317",
    })
    void theEndpointComesFromTheFlagThenTheTracesVariableThenTheGeneralOne(String flag, String protocol,
                                                                           String tracesEnv, String env,
                                                                           String expected) {
        Map<String, String> map = new HashMap<>();
        if (protocol != null) {
            map.put("OTEL_EXPORTER_OTLP_PROTOCOL", protocol);
        }
        if (tracesEnv != null) {
            map.put("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tracesEnv);
        }
        if (env != null) {
            map.put("OTEL_EXPORTER_OTLP_ENDPOINT", env);
        }
        assertThat(TracingConfig.of(true, flag, null, null, map).export().endpoint()).isEqualTo(URI.create(expected));
    }

    @Test
    void theTracesFormOfEachExporterVariableWinsOverTheGeneralOne() {
        TracingConfig.Export e = export(null,
                "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf",
                "OTEL_EXPORTER_OTLP_HEADERS", "a=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2",
                "OTEL_EXPORTER_OTLP_TIMEOUT", "1000", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500",
                "OTEL_EXPORTER_OTLP_COMPRESSION", "none", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip");

        assertThat(e.protocol()).isEqualTo(OtlpProtocol.HTTP_PROTOBUF);
        assertThat(e.headers()).containsExactly(entry("b", "2"));
        assertThat(e.timeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(e.compression()).isEqualTo("gzip");
    }

    @Test
    void headersAreKeyValueListsWithPercentEncodedValues() {
        assertThat(export(null, "OTEL_EXPORTER_OTLP_HEADERS", " api-key = s3cr%3Dt , x-tenant=a%2Cb,").headers())
                .containsExactly(entry("api-key", "s3cr=t"), entry("x-tenant", "a,b"));
    }

    @Test
    void headerValuesStayOutOfTheTextOfTheConfig() {
        assertThat(export(null, "OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cret").toString())
                .contains("api-key").doesNotContain("s3cret");
    }

    @Test
    void timeoutsAreMillisecondsOrCarryAUnit() {
        assertThat(export(null, "OTEL_EXPORTER_OTLP_TIMEOUT", "750").timeout()).isEqualTo(Duration.ofMillis(750));
        assertThat(export(null, "OTEL_EXPORTER_OTLP_TIMEOUT", "3s").timeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(export(null, "OTEL_EXPORTER_OTLP_TIMEOUT", "20ms").timeout()).isEqualTo(Duration.ofMillis(20));
    }

    @Test
    void theSamplingFlagWinsOverTheSamplerVariables() {
        Map<String, String> env = Map.of("OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "0.1");

        assertThat(TracingConfig.of(true, null, 0.5, null, env).sampling())
                .isEqualTo(new TracingConfig.Sampling(true, 0.5));
        assertThat(TracingConfig.of(true, null, null, null, env).sampling())
                .isEqualTo(new TracingConfig.Sampling(false, 0.1));
    }

    @ParameterizedTest
    @CsvSource(nullValues = "-", value = {
            "always_on,                -,    false, 1.0",
            "always_off,               -,    false, 0.0",
            "traceidratio,             0.25, false, 0.25",
            "traceidratio,             -,    false, 1.0",
            "parentbased_always_on,    -,    true,  1.0",
            "parentbased_always_off,   -,    true,  0.0",
            "PARENTBASED_TRACEIDRATIO, 0.5,  true,  0.5",
    })
    void theStandardSamplerNamesAreRead(String sampler, String arg, boolean parentBased, double ratio) {
        Map<String, String> env = new HashMap<>(Map.of("OTEL_TRACES_SAMPLER", sampler));
        if (arg != null) {
            env.put("OTEL_TRACES_SAMPLER_ARG", arg);
        }
        assertThat(on(env).sampling()).isEqualTo(new TracingConfig.Sampling(parentBased, ratio));
    }

    @Test
    void theBatchProcessorVariablesAreRead() {
        assertThat(on(Map.of("OTEL_BSP_SCHEDULE_DELAY", "5000", "OTEL_BSP_MAX_QUEUE_SIZE", "100",
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10", "OTEL_BSP_EXPORT_TIMEOUT", "2000")).batch())
                .isEqualTo(new TracingConfig.Batch(Duration.ofSeconds(5), 100, 10, Duration.ofSeconds(2)));
    }

    @Test
    void theServiceNameVariableWinsOverTheResourceAttributesWhichWinOverTheDefaults() {
        assertThat(on(Map.of("OTEL_RESOURCE_ATTRIBUTES", "service.name=a,team=inference%20infra,service.version=9",
                "OTEL_SERVICE_NAME", "b")).resource())
                .containsEntry("service.name", "b").containsEntry("team", "inference infra")
                .containsEntry("service.version", "9");
        assertThat(on(Map.of("HOST", "node-1")).resource().get("service.instance.id"))
                .isEqualTo("node-1-" + ProcessHandle.current().pid());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "OTEL_EXPORTER_OTLP_PROTOCOL       | http/json     | OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL| thrift        | OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_ENDPOINT       | ftp://otel:21 | OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT| http://       | OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT       | otel:4317?x=1 | OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_HEADERS        | novalue       | OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TIMEOUT        | soon          | OTEL_EXPORTER_OTLP_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT        | -5            | OTEL_EXPORTER_OTLP_TIMEOUT",
            "OTEL_EXPORTER_OTLP_COMPRESSION    | zstd          | OTEL_EXPORTER_OTLP_COMPRESSION",
            "OTEL_TRACES_SAMPLER               | jaeger_remote | OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_SAMPLER_ARG           | 2             | OTEL_TRACES_SAMPLER_ARG",
            "OTEL_RESOURCE_ATTRIBUTES          | =x            | OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_BSP_MAX_QUEUE_SIZE           | 0             | OTEL_BSP_MAX_QUEUE_SIZE",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE    | 4096          | OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    })
    void aBadValueIsRefusedNamingTheVariable(String name, String value, String named) {
        Map<String, String> env = new HashMap<>(Map.of(name, value));
        if (name.equals("OTEL_TRACES_SAMPLER_ARG")) {
            env.put("OTEL_TRACES_SAMPLER", "traceidratio");
        }
        assertThatThrownBy(() -> on(env)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(named);
    }

    @Test
    void aBadFlagIsRefusedNamingTheFlag() {
        assertThatThrownBy(() -> TracingConfig.of(true, "http://", null, null, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--otlp-traces-endpoint");
        assertThatThrownBy(() -> TracingConfig.of(true, null, 2.0, null, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--otel-sampling-ratio");
    }

    @Test
    void aNonEmptyExcludedListReplacesTheDefaults() {
        assertThat(TracingConfig.of(true, null, null, List.of("/metrics"), Map.of()).excludedPaths())
                .containsExactly("/metrics");
        assertThat(TracingConfig.of(true, null, null, List.of(), Map.of()).excludedPaths())
                .isEqualTo(TracingConfig.DEFAULT_EXCLUDED_PATHS);
    }

    @Test
    void disabledReadsNoVariableSoABadOneCannotStopTheRouter() {
        TracingConfig off = TracingConfig.of(false, "otel:4317", 0.5, null, Map.of(
                "OTEL_EXPORTER_OTLP_PROTOCOL", "bogus", "OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x"));

        assertThat(off.enabled()).isFalse();
        assertThat(off.export()).isNull();
        assertThat(TracingConfig.disabled().enabled()).isFalse();
    }
}
