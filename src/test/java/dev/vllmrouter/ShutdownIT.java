package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;

/**
 * SIGTERM to a real router process: it stops admitting (readiness 503) but lets the running stream finish, then
 * exits by itself.
 */
class ShutdownIT {
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void sigtermDrainsTheRunningStreamThenExits(@TempDir Path dir) throws Exception {
        try (SimWorker worker = SimWorker.start(SimConfig.builder().workerId("w").build())) {
            int port = freePort();
            int metricsPort = freePort();
            Path log = dir.resolve("router.log");
            String java = ProcessHandle.current().info().command().orElse("java");
            Process router = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                    Main.class.getName(), "--port", String.valueOf(port), "--prometheus-port",
                    String.valueOf(metricsPort), "--worker-urls", worker.url(), "--shutdown-grace-period-secs", "120"))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                String base = "http://127.0.0.1:" + port;
                await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                        .until(() -> get(base + "/readiness").statusCode() == 200);

                worker.faults().hang(true);
                CompletableFuture<HttpResponse<String>> running = http.sendAsync(HttpRequest.newBuilder(
                                URI.create(base + "/v1/completions")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,"
                                + "\"max_tokens\":4,\"prompt\":\"p\"}")).build(), HttpResponse.BodyHandlers.ofString());
                await().atMost(Duration.ofSeconds(10)).until(() -> worker.inFlight() == 1);

                router.destroy(); // SIGTERM
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> get(base + "/readiness").statusCode() == 503);
                assertThat(router.isAlive()).as("draining, not gone: " + read(log)).isTrue();

                worker.faults().hang(false);
                HttpResponse<String> finished = running.get(30, TimeUnit.SECONDS);
                assertThat(finished.statusCode()).isEqualTo(200);
                assertThat(finished.body()).endsWith("data: [DONE]\n\n").doesNotContain("\"error\"");
                assertThat(router.waitFor(60, TimeUnit.SECONDS)).as("exits after the drain: " + read(log)).isTrue();
                assertThat(read(log)).contains("shutting down");
            } finally {
                router.destroyForcibly();
            }
        }
    }

    private HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
