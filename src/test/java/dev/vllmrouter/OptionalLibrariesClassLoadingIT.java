package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * The libraries that only some set-ups use stay out of a plain router's memory and start-up: a router with no
 * {@code --tokenizer-path}, {@code --service-discovery}, PD discovery, KV events or tracing serves a request without
 * loading one class of DJL (tokenizers and its native library), Jinjava, the Kubernetes client, jeromq, msgpack,
 * OkHttp/Kotlin (the Kubernetes client's HTTP stack) or OpenTelemetry, although all are on the class path. Runs
 * {@link TracingProbe} (router + simulated worker, one chat request) in a fresh JVM with class-load logging;
 * {@link TracingClassLoadingIT#tracingOnDoesLoadTheSdk} is the control that the log shows a library once it is used.
 */
class OptionalLibrariesClassLoadingIT {
    private static final List<String> OPTIONAL = List.of(" ai.djl.", " com.hubspot.jinjava.", " io.kubernetes.",
            " org.zeromq.", " zmq.", " org.msgpack.", " okhttp3.", " kotlin.", " io.opentelemetry.");

    @Test
    void plainRouterLoadsNoOptionalLibrary() throws IOException, InterruptedException {
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load=info:stdout", "-Xshare:off", "-cp", System.getProperty("java.class.path"),
                TracingProbe.class.getName()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(output).as("the probe's request went through").contains("probe status 200");
        List<String> lines = output.lines().toList();
        assertThat(lines).as("the log sees the router being built")
                .anyMatch(l -> l.contains(" dev.vllmrouter.RouterApp "));
        assertThat(lines.stream().filter(l -> OPTIONAL.stream().anyMatch(l::contains)).toList()).isEmpty();
    }
}
