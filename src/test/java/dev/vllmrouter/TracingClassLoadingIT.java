package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * Tracing off keeps the OpenTelemetry SDK out of the start-up and the request path: a router without
 * {@code --enable-trace} serves a traced caller's request without loading a single {@code io.opentelemetry} class
 * (they are on the class path). Each case runs {@link TracingProbe} in a fresh JVM with class-load logging.
 */
class TracingClassLoadingIT {
    private static List<String> loadedClasses(String... routerFlags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load=info:stdout", "-Xshare:off",
                "-cp", System.getProperty("java.class.path"),
                TracingProbe.class.getName()));
        command.addAll(List.of(routerFlags));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(output).as("the probe's request went through").contains("probe status 200");
        return output.lines().toList();
    }

    private static List<String> otelClasses(List<String> lines) {
        return lines.stream().filter(l -> l.contains(" io.opentelemetry.")).toList();
    }

    @Test
    void tracingOffLoadsNoOpenTelemetryClass() throws Exception {
        List<String> lines = loadedClasses();

        assertThat(lines).as("the log sees the router's own tracing classes")
                .anyMatch(l -> l.contains(" dev.vllmrouter.tracing.Tracing "));
        assertThat(otelClasses(lines)).isEmpty();
    }

    @Test
    void tracingOnDoesLoadTheSdk() throws Exception {
        // the control: the same probe with tracing on (to a port where nothing listens) loads the SDK
        assertThat(otelClasses(loadedClasses("--enable-trace", "--otlp-traces-endpoint", "127.0.0.1:9")))
                .anyMatch(l -> l.contains(" io.opentelemetry.sdk.trace.SdkTracerProvider "));
    }
}
