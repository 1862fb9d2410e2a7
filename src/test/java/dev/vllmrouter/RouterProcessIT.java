package dev.vllmrouter;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.testing.RouterProcess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The router as a real process in the environment a real deployment gives it: a Kubernetes pod's service-link
 * variables, ports other processes hold, command lines written for the Rust binary. Each case checks what the
 * operator sees: that it serves, or that it exits with a clear error and a non-zero status.
 */
class RouterProcessIT {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** The environment Kubernetes gives a pod in a namespace with Services vllm-router and vllm-router-metrics. */
    private static Map<String, String> podEnvironment() {
        Map<String, String> env = new HashMap<>();
        env.put("HOSTNAME", "vllm-router-7d9c6b5f4-x2x8z");
        env.put("KUBERNETES_SERVICE_HOST", "10.96.0.1");
        env.put("KUBERNETES_SERVICE_PORT", "443");
        env.put("KUBERNETES_SERVICE_PORT_HTTPS", "443");
        env.put("KUBERNETES_PORT", "tcp://10.96.0.1:443");
        env.put("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443");
        env.put("KUBERNETES_PORT_443_TCP_PROTO", "tcp");
        env.put("KUBERNETES_PORT_443_TCP_PORT", "443");
        env.put("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1");
        for (String[] svc : new String[][] {{"VLLM_ROUTER", "10.96.12.34", "30000", "HTTP"},
                {"VLLM_ROUTER_METRICS", "10.96.12.35", "29000", "METRICS"},
                {"VLLM_ROUTER_PROMETHEUS", "10.96.12.36", "29000", "METRICS"}}) {
            String name = svc[0];
            String ip = svc[1];
            String port = svc[2];
            env.put(name + "_SERVICE_HOST", ip);
            env.put(name + "_SERVICE_PORT", port);
            env.put(name + "_SERVICE_PORT_" + svc[3], port);
            env.put(name + "_PORT", "tcp://" + ip + ":" + port);
            env.put(name + "_PORT_" + port + "_TCP", "tcp://" + ip + ":" + port);
            env.put(name + "_PORT_" + port + "_TCP_PROTO", "tcp");
            env.put(name + "_PORT_" + port + "_TCP_PORT", port);
            env.put(name + "_PORT_" + port + "_TCP_ADDR", ip);
        }
        return env;
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void startsInAPodWithServiceLinksAndStaysLiveWithoutWorkers(@TempDir Path dir) throws Exception {
        // the ConfigMap of docs/kubernetes/base, with ports the test can bind
        Path config = dir.resolve("config.yaml");
        Files.writeString(config, "host: 127.0.0.1\nport: 0\nprometheus-host: 127.0.0.1\nprometheus-port: 0\n");
        Map<String, String> env = podEnvironment();
        env.put("VLLM_ROUTER_POLICIY", "random");
        try (RouterProcess router = RouterProcess.start(env, "--config", config.toString())) {
            int port = router.awaitListening();
            assertThat(get(port, "/liveness").statusCode()).isEqualTo(200);
            HttpResponse<String> health = get(port, "/health");
            assertThat(health.statusCode()).as("liveness probe of vllm-router's manifests, before any vLLM pod")
                    .isEqualTo(200);
            assertThat(get(port, "/readiness").statusCode()).isEqualTo(503);
            assertThat(router.output()).contains("ignoring Kubernetes service-link variables")
                    .contains("VLLM_ROUTER_PORT,")
                    .contains("ignoring environment variable VLLM_ROUTER_POLICIY: no such setting")
                    .contains("auth: authentication is off");

            router.terminate();
            assertThat(router.awaitExit()).as("SIGTERM: drained and exited 0, as vllm-router does").isZero();
            assertThat(router.output()).contains("shutting down");
        }
    }

    @Test
    void aTakenPortStopsTheRouterBeforeItWaitsForWorkers() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             RouterProcess router = RouterProcess.start(Map.of(), "--port", String.valueOf(taken.getLocalPort()),
                     "--prometheus-port", "0", "--worker-urls", "http://127.0.0.1:9",
                     "--worker-startup-timeout-secs", "600")) {
            assertThat(router.awaitExit()).isEqualTo(1);
            assertThat(router.output()).contains("vllm-router: error: cannot listen on 127.0.0.1:"
                    + taken.getLocalPort() + " (--host/--port)");
        }
    }

    @Test
    void aTakenMetricsPortStopsTheRouter() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             RouterProcess router = RouterProcess.start(Map.of(), "--port", "0",
                     "--prometheus-port", String.valueOf(taken.getLocalPort()))) {
            assertThat(router.awaitExit()).isEqualTo(1);
            assertThat(router.output()).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()
                    + " (--prometheus-host/--prometheus-port)");
        }
    }

    @Test
    void aTakenDiscoveryAddressStopsTheRouter() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             RouterProcess router = RouterProcess.start(Map.of(), "--port", "0", "--prometheus-port", "0",
                     "--vllm-pd-disaggregation", "--vllm-discovery-address",
                     "127.0.0.1:" + taken.getLocalPort())) {
            assertThat(router.awaitExit()).isEqualTo(1);
            assertThat(router.output()).contains("vllm-router: error: --vllm-discovery-address: cannot bind tcp://"
                    + "127.0.0.1:" + taken.getLocalPort());
            assertThat(router.output()).doesNotContain("listening on");
        }
    }

    @Test
    void aBadValueOnTheQuickPathStopsTheStartWithStatus2AndNamesTheFlag() throws Exception {
        // a plain command line (QuickFlags, not picocli) whose value the configuration refuses; the environment's
        // port is not even read, since the command line gives one
        try (RouterProcess router = RouterProcess.start(Map.of("VLLM_ROUTER_PORT", "thirty"), "--port", "0",
                "--worker-urls", "http://127.0.0.1:9", "--policy", "nope")) {
            assertThat(router.awaitExit()).isEqualTo(2);
            assertThat(router.output()).contains("vllm-router: error: --policy: 'nope'")
                    .doesNotContain("thirty").doesNotContain("listening on");
        }
    }

    @Test
    void anUnknownFlagAfterWorkerUrlsIsNamed() throws Exception {
        try (RouterProcess router = RouterProcess.start(Map.of(), "--worker-urls", "http://127.0.0.1:9",
                "--max-batch-size", "8")) {
            assertThat(router.awaitExit()).isEqualTo(2);
            assertThat(router.output()).contains("vllm-router: error: Unknown option: '--max-batch-size'");
        }
    }

    @Test
    void aListenerThatCannotBindIsAnErrorNotASilentServerOnPortMinusOne() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            var config = RouterCli.parse(Map.of(), "--port", String.valueOf(taken.getLocalPort()),
                    "--prometheus-port", "0");
            assertThatThrownBy(() -> RouterApp.start(config)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + taken.getLocalPort() + " (--host/--port)");
        }
    }
}
