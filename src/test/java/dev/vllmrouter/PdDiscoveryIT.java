package dev.vllmrouter;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimRegistrar;
import dev.vllmrouter.sim.SimWorker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** P2P-NCCL: engines register over ZeroMQ exactly as vLLM's P2pNcclEngine does, are used, then expire. */
class PdDiscoveryIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static byte[] registration(String type, String http, String zmq) {
        return SimRegistrar.message(type, http, zmq);
    }

    private static JsonNode readiness(RouterApp router) throws Exception {
        return JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(router.url() + "/readiness")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }

    @Test
    void registeredEnginesServeThenExpireWhenTheyStopPinging() throws Exception {
        int discoveryPort = freePort();
        try (SimWorker prefill = SimWorker.start(SimConfig.builder().workerId("p").build());
             SimWorker decode = SimWorker.start(SimConfig.builder().workerId("d").build());
             RouterApp router = RouterApp.start(RouterCli.parse(Map.of(), "--port", "0", "--prometheus-port", "0",
                     "--vllm-pd-disaggregation", "--vllm-discovery-address", "127.0.0.1:" + discoveryPort));
             ZContext zmq = new ZContext()) {
            String pZmq = "127.0.0.1:21001";
            String dZmq = "127.0.0.1:22001";
            ScheduledExecutorService pinger = Executors.newSingleThreadScheduledExecutor();
            ZMQ.Socket pSocket = zmq.createSocket(SocketType.DEALER);
            pSocket.setIdentity(pZmq.getBytes()); // vLLM: identity = its zmq address
            pSocket.setHandshakeIvl(500); // a stalled jeromq handshake reconnects (see SimRegistrar)
            pSocket.connect("tcp://127.0.0.1:" + discoveryPort);
            ZMQ.Socket dSocket = zmq.createSocket(SocketType.DEALER);
            dSocket.setIdentity(dZmq.getBytes());
            dSocket.setHandshakeIvl(500);
            dSocket.connect("tcp://127.0.0.1:" + discoveryPort);
            byte[] pMsg = registration("P", "127.0.0.1:" + prefill.port(), pZmq);
            byte[] dMsg = registration("D", "127.0.0.1:" + decode.port(), dZmq);
            // periodic heartbeats, as vLLM sends every few seconds (faster here; sockets used by the pinger only)
            AtomicReference<Throwable> pingFailed = new AtomicReference<>(); // a throwing task would stop silently
            pinger.scheduleAtFixedRate(() -> {
                try {
                    pSocket.send(pMsg, 0);
                    dSocket.send(dMsg, 0);
                } catch (RuntimeException e) {
                    pingFailed.compareAndSet(null, e);
                }
            }, 0, 500, TimeUnit.MILLISECONDS);

            // the readiness body (counts per role) is in the failure message if registration never lands
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertThat(pingFailed.get()).as("heartbeats").isNull();
                assertThat(readiness(router).toString()).contains("\"status\":\"ready\"");
            });
            HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(router.url() + "/v1/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":2}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).isEqualTo(200);
            List<RecordedRequest> p = prefill.log().requests().stream().filter(r -> r.method().equals("POST")).toList();
            List<RecordedRequest> d = decode.log().requests().stream().filter(r -> r.method().equals("POST")).toList();
            assertThat(p).hasSize(1);
            assertThat(d).hasSize(1);
            assertThat(p.get(0).requestId()).isEqualTo(d.get(0).requestId())
                    .matches("___prefill_addr_127\\.0\\.0\\.1:21001___decode_addr_127\\.0\\.0\\.1:22001_[0-9a-f]{32}");

            pinger.shutdownNow();
            pinger.awaitTermination(5, TimeUnit.SECONDS);
            // no heartbeat for 5 s: both engines expire and the router says so
            await().atMost(Duration.ofSeconds(20)).until(() -> readiness(router).path("prefill").path("total").asInt()
                    == 0 && readiness(router).path("decode").path("total").asInt() == 0);
            HttpResponse<String> after = HTTP.send(HttpRequest.newBuilder(URI.create(router.url()
                            + "/v1/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"x\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(after.statusCode()).isEqualTo(503);
            dev.vllmrouter.testing.Scrape m = dev.vllmrouter.testing.Scrape.from(router.metricsPort());
            assertThat(m.value("vllm_router_discovery_updates_total")).as("registrations, then expiry").isPositive();
            assertThat(m.value("vllm_router_discovery_workers_removed")).as("the last update removed both")
                    .isPositive();
        }
    }
}
