package dev.vllmrouter.discovery.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.RouterApp;
import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Scrape;

/**
 * The router as users run it with {@code --service-discovery}, against a stand-in API server: a Ready pod becomes a
 * worker that serves traffic, NotReady takes it out of rotation, relabelling and deletion remove it.
 */
class KubernetesRouterIT {
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void podsBecomeWorkersAndLeaveWhenNotReadyRelabelledOrDeleted() throws Exception {
        try (FakeKubeApi api = new FakeKubeApi();
             SimWorker sim = SimWorker.start(SimConfig.builder().workerId("pod-a").build())) {
            RouterApp router = RouterApp.start(RouterCli.parse(Map.of(), "--port", "0", "--prometheus-port", "0",
                    "--service-discovery", "--selector", "app=vllm", "--service-discovery-port",
                    String.valueOf(sim.port()), "--service-discovery-namespace", "default"), api.client());
            try {
                assertThat(get(router, "/readiness").statusCode()).as("no pod yet").isEqualTo(503);
                FakePod pod = FakePod.ready("a", "127.0.0.1", "app", "vllm");
                api.put(pod);
                await().atMost(Duration.ofSeconds(10)).until(() -> get(router, "/readiness").statusCode() == 200);
                assertThat(chat(router).statusCode()).isEqualTo(200);
                // the sim counts a request after its answer is out: wait for it rather than race it
                await().atMost(Duration.ofSeconds(10)).until(() -> sim.served() == 1);

                api.put(pod.withReady(false));
                await().atMost(Duration.ofSeconds(10)).until(() -> router.registry().snapshot().workers().isEmpty());
                assertThat(chat(router).statusCode()).isEqualTo(503);

                api.put(pod.withReady(true));
                await().atMost(Duration.ofSeconds(10)).until(() -> router.registry().snapshot().workers().size() == 1);
                api.put(pod.withLabels("app", "other"));
                await().atMost(Duration.ofSeconds(10)).until(() -> router.registry().snapshot().workers().isEmpty());

                api.put(pod);
                await().atMost(Duration.ofSeconds(10)).until(() -> router.registry().snapshot().workers().size() == 1);
                api.delete(pod.uid());
                await().atMost(Duration.ofSeconds(10)).until(() -> router.registry().snapshot().workers().isEmpty());

                Scrape m = Scrape.from(router.metricsPort());
                assertThat(m.value("vllm_router_discovery_updates_total")).isGreaterThanOrEqualTo(6);
                assertThat(m.value("vllm_router_discovery_workers_removed")).isEqualTo(1);
                assertThat(api.requests()).anyMatch(r -> "app=vllm".equals(r.query().get("labelSelector")));
            } finally {
                router.close();
            }
        }
    }

    private HttpResponse<String> get(RouterApp router, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(router.url() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> chat(RouterApp router) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(router.url() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
