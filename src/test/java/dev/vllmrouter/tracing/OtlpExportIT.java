package dev.vllmrouter.tracing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Spans from the request path to an in-process OTLP/HTTP collector, over a real socket. */
class OtlpExportIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);

    private record Received(String method, String path, String contentType, JsonNode body) {
    }

    private HttpServer collector;
    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private volatile int answer = 200;

    @BeforeEach
    void startCollector() throws IOException {
        collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        collector.createContext("/", exchange -> {
            try (exchange) {
                received.add(new Received(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                        exchange.getRequestHeaders().getFirst("Content-Type"),
                        JSON.readTree(exchange.getRequestBody())));
                byte[] body = "{}".getBytes();
                exchange.sendResponseHeaders(answer, body.length);
                exchange.getResponseBody().write(body);
            }
        });
        collector.start();
    }

    @AfterEach
    void stopCollector() {
        collector.stop(0);
    }

    private String endpoint() {
        return "127.0.0.1:" + collector.getAddress().getPort();
    }

    private static Tracing tracing(String endpoint, AtomicLong clock, AtomicLong ids) {
        return Tracing.create(TracingConfig.of(true, endpoint, null, 1, null), clock::get,
                new java.util.random.RandomGenerator() {
                    @Override
                    public long nextLong() {
                        return ids.incrementAndGet();
                    }
                });
    }

    private Received next() throws InterruptedException {
        Received r = received.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(r).as("an export within " + WAIT).isNotNull();
        return r;
    }

    @Test
    void aTracedRequestReachesTheCollectorAsLinkedServerAndClientSpans() throws Exception {
        AtomicLong clock = new AtomicLong(1_700_000_000_000_000_000L);
        Tracing tracing = tracing(endpoint(), clock, new AtomicLong());
        RequestSpan request = tracing.start("/v1/chat/completions", "POST", "/v1/chat/completions", Map.of(
                "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")::get);
        request.requestId("req-7");
        request.model("meta-llama/Llama-3.1-8B-Instruct");
        UpstreamSpan attempt = request.attempt("http://10.0.0.7:8000", "http://10.0.0.7:8000", 1);
        clock.addAndGet(2_000_000);
        attempt.end(500);
        request.end(500);
        tracing.close(); // the one batch goes out now

        Received export = next();
        assertThat(export.method()).isEqualTo("POST");
        assertThat(export.path()).isEqualTo("/v1/traces");
        assertThat(export.contentType()).isEqualTo("application/json");
        JsonNode resource = export.body().at("/resourceSpans/0/resource");
        assertThat(OtlpJsonTest.attribute(resource, "service.name").get("stringValue").asText())
                .isEqualTo("vllm-router");
        JsonNode spans = export.body().at("/resourceSpans/0/scopeSpans/0/spans");
        assertThat(spans).hasSize(2);
        JsonNode client = spans.get(0);
        JsonNode server = spans.get(1);

        assertThat(server.get("traceId").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(server.get("parentSpanId").asText()).isEqualTo("00f067aa0ba902b7");
        assertThat(server.get("kind").asInt()).isEqualTo(2);
        assertThat(server.get("status").get("code").asInt()).isEqualTo(2);
        assertThat(OtlpJsonTest.attribute(server, "vllm_router.request_id").get("stringValue").asText())
                .isEqualTo("req-7");
        assertThat(OtlpJsonTest.attribute(server, "gen_ai.request.model").get("stringValue").asText())
                .isEqualTo("meta-llama/Llama-3.1-8B-Instruct");
        assertThat(OtlpJsonTest.attribute(server, "http.response.status_code").get("intValue").asText())
                .isEqualTo("500");

        assertThat(client.get("traceId").asText()).isEqualTo(server.get("traceId").asText());
        assertThat(client.get("parentSpanId").asText()).isEqualTo(server.get("spanId").asText());
        assertThat(client.get("kind").asInt()).isEqualTo(3);
        assertThat("00-4bf92f3577b34da6a3ce929d0e0e4736-" + client.get("spanId").asText() + "-01")
                .as("the worker was told this span is its parent").isEqualTo(attempt.traceparent());
        assertThat(OtlpJsonTest.attribute(client, "server.address").get("stringValue").asText())
                .isEqualTo("10.0.0.7");
        assertThat(OtlpJsonTest.attribute(client, "vllm_router.attempt").get("intValue").asText()).isEqualTo("1");
        assertThat(client.get("endTimeUnixNano").asText()).isEqualTo("1700000000002000000");
    }

    @Test
    void spansOfManyRequestsAreBatchedUpToTheBatchSize() throws Exception {
        BatchSpanProcessor processor = new BatchSpanProcessor(
                new OtlpHttpExporter(OtlpHttpExporter.tracesUri(endpoint()), "vllm-router", WAIT), 100, 2,
                Duration.ofHours(1), () -> 0);
        for (int i = 1; i <= 5; i++) {
            processor.accept(Spans.server(i));
        }

        assertThat(next().body().at("/resourceSpans/0/scopeSpans/0/spans")).hasSize(2);
        assertThat(next().body().at("/resourceSpans/0/scopeSpans/0/spans")).hasSize(2);
        assertThat(processor.close(WAIT)).isTrue();
        assertThat(next().body().at("/resourceSpans/0/scopeSpans/0/spans")).hasSize(1);
        assertThat(processor.exported()).isEqualTo(5);
    }

    @Test
    void aCollectorAnsweringAnErrorCountsAsAFailedExport() throws Exception {
        answer = 503;
        BatchSpanProcessor processor = new BatchSpanProcessor(
                new OtlpHttpExporter(OtlpHttpExporter.tracesUri(endpoint()), "vllm-router", WAIT), 100, 1,
                Duration.ofHours(1), () -> 0);
        processor.accept(Spans.server(1));

        next();
        await().atMost(WAIT).until(() -> processor.failedBatches() == 1);
        assertThat(processor.exported()).isZero();
        processor.close(WAIT);
    }

    @Test
    void aDownCollectorNeitherBlocksNorFailsTheRequestPath() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        BatchSpanProcessor processor = new BatchSpanProcessor(new OtlpHttpExporter(
                OtlpHttpExporter.tracesUri("127.0.0.1:" + closedPort), "vllm-router", WAIT), 100, 1,
                Duration.ofHours(1), () -> 0);
        Tracing tracing = new Tracing(TracingConfig.of(true, "127.0.0.1:" + closedPort, null, 1, null),
                () -> 1, new AtomicLong()::incrementAndGet, processor, processor);

        for (int i = 0; i < 3; i++) {
            RequestSpan request = tracing.start("/v1/completions", "POST", "/v1/completions", name -> null);
            request.attempt("w1", "http://w1:8000", 1).end(200);
            request.end(200);
        }

        await().atMost(WAIT).until(() -> processor.failedBatches() + processor.exported() == 6);
        assertThat(processor.failedBatches()).isEqualTo(6);
        tracing.close();
        assertThat(received).isEmpty();
    }

    @Test
    void allTracedRequestsOfOneTracingGoOutAtClose() throws Exception {
        Tracing tracing = tracing("http://" + endpoint() + "/", new AtomicLong(1), new AtomicLong());
        List.of("/v1/completions", "/v1/chat/completions").forEach(path ->
                tracing.start(path, "POST", path, name -> null).end(200));
        tracing.close();

        JsonNode spans = next().body().at("/resourceSpans/0/scopeSpans/0/spans");
        assertThat(spans).extracting(s -> s.get("name").asText())
                .containsExactly("POST /v1/completions", "POST /v1/chat/completions");
        assertThat(tracing.droppedSpans()).isZero();
    }
}
