package dev.vllmrouter;

import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimMoriio;
import dev.vllmrouter.sim.SimRegistrar;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Sse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * MoRI-IO ({@code --kv-connector moriio}): simulated engines register over ZeroMQ as vLLM's MoRIIOConnector does and
 * check both legs as it would — in WRITE mode the prefill cannot finish before the decode announced its blocks, so
 * only concurrent dispatch succeeds; in READ mode the decode needs the prefill's block ids and engine id.
 */
class PdMoriioIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final String ID = "___prefill_addr_host:127\\.0\\.0\\.1,handshake:\\d+,notify:%d"
            + "___decode_addr_host:127\\.0\\.0\\.1,handshake:\\d+,notify:%d_[0-9a-f]{32}";

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** One prefill and one decode engine in {@code mode}, registered with a MoRI-IO router. */
    private static final class MoriioFleet implements AutoCloseable {
        final SimWorker prefill = SimWorker.start(SimConfig.builder().workerId("p").build());
        final SimWorker decode = SimWorker.start(SimConfig.builder().workerId("d")
                .interTokenLatency(Duration.ofMillis(1)).build());
        final RouterApp router;
        final SimRegistrar pReg;
        final SimRegistrar dReg;

        MoriioFleet(SimMoriio.Mode mode) throws Exception {
            int discovery = freePort();
            router = RouterApp.start(RouterCli.parse(Map.of(), "--port", "0", "--prometheus-port", "0",
                    "--vllm-pd-disaggregation", "--kv-connector", "moriio",
                    "--vllm-discovery-address", "127.0.0.1:" + discovery));
            prefill.moriio().mode(mode);
            decode.moriio().mode(mode);
            pReg = SimRegistrar.moriio("127.0.0.1:" + discovery, true, prefill);
            dReg = SimRegistrar.moriio("127.0.0.1:" + discovery, false, decode);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(readiness()).contains("\"status\":\"ready\""));
        }

        String readiness() throws Exception {
            return HTTP.send(HttpRequest.newBuilder(URI.create(router.url() + "/readiness")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        }

        HttpResponse<String> post(String path, String body) throws Exception {
            return HTTP.send(HttpRequest.newBuilder(URI.create(router.url() + path))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofString());
        }

        RecordedRequest only(SimWorker w) {
            List<RecordedRequest> posts = w.log().requests().stream().filter(r -> r.method().equals("POST"))
                    .filter(r -> r.path().startsWith("/v1/")).toList();
            assertThat(posts).hasSize(1);
            return posts.get(0);
        }

        @Override
        public void close() {
            pReg.close();
            dReg.close();
            router.close();
            prefill.close();
            decode.close();
        }
    }

    @Test
    void writeModeSendsBothLegsAtOnceWithOneTransferId() throws Exception {
        try (MoriioFleet fleet = new MoriioFleet(SimMoriio.Mode.WRITE)) {
            HttpResponse<InputStream> res = HTTP.send(HttpRequest.newBuilder(URI.create(fleet.router.url()
                            + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,\"max_tokens\":4,"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(res.statusCode()).isEqualTo(200);
            List<String> events = Sse.readEvents(res.body());
            assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");

            RecordedRequest p = fleet.only(fleet.prefill);
            RecordedRequest d = fleet.only(fleet.decode);
            JsonNode pkv = JSON.readTree(p.body()).get("kv_transfer_params");
            JsonNode dkv = JSON.readTree(d.body()).get("kv_transfer_params");
            assertThat(pkv.get("transfer_id").asText()).matches("tx-[0-9a-f]{32}");
            assertThat(dkv.get("transfer_id").asText()).isEqualTo(pkv.get("transfer_id").asText());
            assertThat(pkv.get("do_remote_decode").asBoolean()).isTrue();
            assertThat(pkv.get("remote_dp_size").asInt()).isEqualTo(1);
            assertThat(pkv.get("remote_tp_size").asInt()).isEqualTo(1);
            assertThat(pkv.get("remote_dp_rank").asInt()).isZero();
            assertThat(dkv.get("do_remote_prefill").asBoolean()).isTrue();
            assertThat(dkv.get("remote_dp_size").asInt()).isEqualTo(1);
            assertThat(JSON.readTree(d.body()).get("stream").asBoolean()).as("the client's own request").isTrue();
            assertThat(p.requestId()).isEqualTo(d.requestId())
                    .matches(String.format(ID, fleet.prefill.port(), fleet.decode.port()));
            assertThat(fleet.prefill.moriio().transfers()).as("the prefill got the decode's blocks").isEqualTo(1);
            assertThat(fleet.decode.moriio().transfers()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router.registry().snapshot().workers().stream()
                    .allMatch(w -> w.inFlight() == 0));
        }
    }

    @Test
    void readModeRunsThePrefillFirstAndTheDecodeReadsWhatItAnswered() throws Exception {
        try (MoriioFleet fleet = new MoriioFleet(SimMoriio.Mode.READ)) {
            HttpResponse<String> res = fleet.post("/v1/completions",
                    "{\"model\":\"demo\",\"prompt\":\"Once\",\"max_tokens\":3}");
            assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
            RecordedRequest p = fleet.only(fleet.prefill);
            RecordedRequest d = fleet.only(fleet.decode);
            JsonNode pkv = JSON.readTree(p.body()).get("kv_transfer_params");
            JsonNode dkv = JSON.readTree(d.body()).get("kv_transfer_params");
            assertThat(pkv.get("transfer_id").asText()).matches("tx-[0-9a-f]{32}");
            assertThat(dkv.get("transfer_id").asText()).isEqualTo(pkv.get("transfer_id").asText());
            assertThat(dkv.get("remote_engine_id").asText()).as("the prefill's engine, from its answer")
                    .startsWith("127.0.0.1:");
            assertThat(dkv.get("remote_block_ids").isArray()).isTrue();
            assertThat(dkv.get("remote_notify_port").asInt()).isEqualTo(fleet.prefill.port());
            assertThat(dkv.get("remote_dp_size").asInt()).isEqualTo(1);
            assertThat(p.requestId()).isEqualTo(d.requestId())
                    .matches(String.format(ID, fleet.prefill.port(), fleet.decode.port()));
            assertThat(fleet.decode.moriio().recomputed()).as("the decode could read the KV").isZero();
            assertThat(fleet.decode.moriio().transfers()).isEqualTo(1);
        }
    }

    @Test
    void theFirstModeSticksAndAnEngineOfTheOtherModeIsDropped() throws Exception {
        try (MoriioFleet fleet = new MoriioFleet(SimMoriio.Mode.WRITE);
             ZContext zmq = new ZContext()) {
            ZMQ.Socket socket = zmq.createSocket(SocketType.DEALER);
            socket.setHandshakeIvl(500); // as SimRegistrar: a stalled jeromq handshake reconnects
            socket.connect("tcp://" + fleet.router.config().pd().discoveryAddress());
            // one socket keeps the order: each READ registration is handled before the WRITE one sent after it;
            // sent again like heartbeats until the WRITE engine shows (a first message may go before the connection)
            byte[] read = SimRegistrar.moriioMessage("D", "127.0.0.1:1", "host:127.0.0.1,handshake:2,notify:1", 1, 1,
                    "READ");
            byte[] write = SimRegistrar.moriioMessage("D", "127.0.0.1:3", "host:127.0.0.1,handshake:4,notify:3", 1,
                    1, "WRITE");
            await().atMost(Duration.ofSeconds(20)).pollInSameThread().pollInterval(Duration.ofMillis(200)).until(() -> {
                socket.send(read, 0);
                socket.send(write, 0);
                return fleet.router.registry().snapshot().workers().stream()
                        .anyMatch(w -> w.id().equals("http://127.0.0.1:3"));
            });
            assertThat(fleet.router.registry().snapshot().workers()).extracting(w -> w.id())
                    .as("the READ engine was dropped").doesNotContain("http://127.0.0.1:1");
        }
    }
}
