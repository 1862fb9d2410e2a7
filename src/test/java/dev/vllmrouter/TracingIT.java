package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import io.opentelemetry.proto.trace.v1.Span;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.testing.OtlpReceiver;

import static dev.vllmrouter.testing.OtlpReceiver.hex;

/**
 * --enable-trace end to end: the caller's trace continues through the router to the worker and to a real OTLP
 * receiver, over gRPC (vllm-router's flag) and over HTTP/protobuf (the standard variables); tracing off sends nothing.
 */
class TracingIT {
    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER = "00-" + TRACE_ID + "-00f067aa0ba902b7-01";
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";

    private static HttpRequest chat(String url, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(CHAT));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return b.build();
    }

    private static RecordedRequest chatAt(SimWorker worker) {
        return worker.log().requests().stream().filter(r -> r.path().equals("/v1/chat/completions"))
                .findFirst().orElseThrow();
    }

    /** The SERVER span continues the caller's trace; the CLIENT span is its child and the worker's parent. */
    private static void assertLinked(List<Span> spans, RecordedRequest atWorker) {
        String sent = atWorker.header("traceparent").orElseThrow();
        Span server = spans.stream().filter(s -> s.getKind() == Span.SpanKind.SPAN_KIND_SERVER).findFirst()
                .orElseThrow();
        Span client = spans.stream().filter(s -> s.getKind() == Span.SpanKind.SPAN_KIND_CLIENT).findFirst()
                .orElseThrow();
        assertThat(hex(server.getTraceId())).isEqualTo(TRACE_ID);
        assertThat(hex(server.getParentSpanId())).isEqualTo("00f067aa0ba902b7");
        assertThat(server.getName()).isEqualTo("POST /v1/chat/completions");
        assertThat(hex(client.getTraceId())).isEqualTo(TRACE_ID);
        assertThat(hex(client.getParentSpanId())).isEqualTo(hex(server.getSpanId()));
        assertThat(sent).as("the worker's parent is the router's CLIENT span")
                .isEqualTo("00-" + TRACE_ID + "-" + hex(client.getSpanId()) + "-01");
    }

    @Test
    void overGrpcWithVllmRoutersFlagTheCallersTraceReachesTheWorkerAndTheReceiver() {
        try (OtlpReceiver receiver = OtlpReceiver.grpc();
             Fleet fleet = Fleet.start(1, "--enable-trace", "--otlp-traces-endpoint", receiver.hostPort())) {
            assertThat(fleet.send(chat(fleet.url(""), "traceparent", CALLER, "tracestate", "vendor=1")).statusCode())
                    .isEqualTo(200);
            assertThat(fleet.get("/health").statusCode()).isEqualTo(200);

            RecordedRequest atWorker = chatAt(fleet.worker(0));
            assertThat(atWorker.header("tracestate")).hasValue("vendor=1");
            List<Span> spans = receiver.awaitSpans(2);
            assertLinked(spans, atWorker);
            fleet.close(); // flushes: anything more (a /health span) would be there now
            assertThat(receiver.spans()).as("/health is not traced").hasSize(2);
        }
    }

    @Test
    void overHttpProtobufFromTheStandardVariables() throws Exception {
        try (OtlpReceiver receiver = OtlpReceiver.http();
             SimWorker worker = SimWorker.start(SimConfig.builder().workerId("sim-0").build());
             RouterApp router = RouterApp.start(RouterCli.parse(Map.of(
                             "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
                             "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(),
                             "OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k1"),
                     "--port", "0", "--prometheus-port", "0", "--enable-trace", "--worker-urls", worker.url()))) {
            HttpResponse<String> response = HttpClient.newHttpClient().send(chat(router.url(), "traceparent", CALLER),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);

            assertLinked(receiver.awaitSpans(2), chatAt(worker));
            assertThat(receiver.exports().getFirst().path()).isEqualTo("/v1/traces");
            assertThat(receiver.exports().getFirst().headers()).containsEntry("x-api-key", "k1");
        }
    }

    @Test
    void withTracingOffNothingIsExportedAndNoTraceHeaderIsAdded() throws IOException, InterruptedException {
        try (OtlpReceiver grpc = OtlpReceiver.grpc();
             SimWorker worker = SimWorker.start(SimConfig.builder().workerId("sim-0").build())) {
            // every variable points at the receiver (one is even invalid): without --enable-trace none is read
            RouterApp router = RouterApp.start(RouterCli.parse(Map.of(
                            "OTEL_EXPORTER_OTLP_ENDPOINT", grpc.url(),
                            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", grpc.url(),
                            "OTEL_TRACES_SAMPLER", "not-a-sampler"),
                    "--port", "0", "--prometheus-port", "0", "--otlp-traces-endpoint", grpc.hostPort(),
                    "--worker-urls", worker.url()));
            try (router) {
                HttpClient http = HttpClient.newHttpClient();
                assertThat(http.send(chat(router.url()), HttpResponse.BodyHandlers.ofString()).statusCode())
                        .isEqualTo(200);
                assertThat(http.send(chat(router.url(), "traceparent", CALLER, "tracestate", "vendor=1"),
                        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            }

            List<RecordedRequest> chats = worker.log().requests().stream()
                    .filter(r -> r.path().equals("/v1/chat/completions")).toList();
            assertThat(chats).hasSize(2);
            assertThat(chats.get(0).header("traceparent")).as("no trace of the router's own").isEmpty();
            assertThat(chats.get(0).header("tracestate")).isEmpty();
            assertThat(chats.get(1).header("traceparent")).as("the caller's passes unchanged").hasValue(CALLER);
            assertThat(chats.get(1).header("tracestate")).hasValue("vendor=1");
            assertThat(grpc.exports()).as("the router closed: any span would have been flushed").isEmpty();
        }
    }
}
