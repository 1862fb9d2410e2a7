package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.testing.Fleet;

/** --enable-trace end to end: the caller's trace continues through the router to the worker and to the collector. */
class TracingIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER = "00-" + TRACE_ID + "-00f067aa0ba902b7-01";
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";

    @Test
    void theCallersTraceReachesTheWorkerAndTheCollector() throws Exception {
        List<JsonNode> exports = new CopyOnWriteArrayList<>();
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        collector.createContext("/v1/traces", exchange -> {
            try {
                exports.add(JSON.readTree(exchange.getRequestBody()));
            } catch (IOException e) {
                exports.add(JSON.nullNode());
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        collector.start();
        try (Fleet fleet = Fleet.start(1, "--enable-trace", "--otlp-traces-endpoint",
                "127.0.0.1:" + collector.getAddress().getPort())) {
            assertThat(fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                    .header("Content-Type", "application/json").header("traceparent", CALLER)
                    .header("tracestate", "vendor=1").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build())
                    .statusCode()).isEqualTo(200);
            assertThat(fleet.get("/health").statusCode()).isEqualTo(200);

            RecordedRequest atWorker = fleet.worker(0).log().requests().stream()
                    .filter(r -> r.path().equals("/v1/chat/completions")).findFirst().orElseThrow();
            String sent = atWorker.header("traceparent").orElseThrow();
            assertThat(sent).startsWith("00-" + TRACE_ID + "-").endsWith("-01").isNotEqualTo(CALLER);
            assertThat(atWorker.header("tracestate")).hasValue("vendor=1");

            List<JsonNode> spans = new ArrayList<>();
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                spans.clear();
                for (JsonNode export : exports) {
                    for (JsonNode rs : export.path("resourceSpans")) {
                        for (JsonNode ss : rs.path("scopeSpans")) {
                            ss.path("spans").forEach(spans::add);
                        }
                    }
                }
                return spans.size() >= 2;
            });
            JsonNode server = spans.stream().filter(s -> s.path("kind").asInt() == 2).findFirst().orElseThrow();
            JsonNode client = spans.stream().filter(s -> s.path("kind").asInt() == 3).findFirst().orElseThrow();
            assertThat(server.path("traceId").asText()).isEqualTo(TRACE_ID);
            assertThat(server.path("parentSpanId").asText()).isEqualTo("00f067aa0ba902b7");
            assertThat(client.path("traceId").asText()).isEqualTo(TRACE_ID);
            assertThat(client.path("parentSpanId").asText()).isEqualTo(server.path("spanId").asText());
            assertThat(sent).contains("-" + client.path("spanId").asText() + "-");
            assertThat(spans).as("/health is not traced").hasSize(2);
        } finally {
            collector.stop(0);
        }
    }

    @Test
    void withTracingOffTheCallersHeadersPassUnchanged() {
        try (Fleet fleet = Fleet.start(1)) {
            fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                    .header("Content-Type", "application/json").header("traceparent", CALLER)
                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
            RecordedRequest atWorker = fleet.worker(0).log().requests().stream()
                    .filter(r -> r.path().equals("/v1/chat/completions")).findFirst().orElseThrow();
            assertThat(atWorker.header("traceparent")).hasValue(CALLER);
        }
    }
}
