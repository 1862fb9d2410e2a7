package dev.vllmrouter.tracing;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.vllmrouter.testing.OtlpReceiver;

import static dev.vllmrouter.testing.OtlpReceiver.attribute;
import static dev.vllmrouter.testing.OtlpReceiver.hex;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Spans from the request path through the SDK's OTLP exporters to real receivers on loopback sockets, over both
 * protocols: grpc-java's server for OTLP/gRPC, an HTTP server for OTLP/HTTP with protobuf; each decodes the protobuf.
 */
class OtlpExportIT {
    private static final String CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER_SPAN = "00f067aa0ba902b7";

    private static OtlpReceiver receiver(OtlpProtocol protocol) {
        return protocol == OtlpProtocol.GRPC ? OtlpReceiver.grpc() : OtlpReceiver.http();
    }

    /** Tracing configured the standard way: protocol and endpoint from the environment. */
    private static Tracing tracing(OtlpProtocol protocol, String endpoint, String... moreEnv) {
        Map<String, String> env = new HashMap<>(Map.of(
                "OTEL_EXPORTER_OTLP_PROTOCOL", protocol.id(),
                "OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
        for (int i = 0; i < moreEnv.length; i += 2) {
            env.put(moreEnv[i], moreEnv[i + 1]);
        }
        return Tracing.create(TracingConfig.of(true, null, null, null, env));
    }

    @ParameterizedTest
    @EnumSource(OtlpProtocol.class)
    void aTracedRequestReachesTheReceiverAsLinkedServerAndClientSpans(OtlpProtocol protocol) {
        try (OtlpReceiver receiver = receiver(protocol)) {
            Tracing tracing = tracing(protocol, receiver.url(),
                    "OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t0ken",
                    "OTEL_SERVICE_NAME", "router-under-test");
            RequestSpan request = tracing.start("/v1/chat/completions", "POST", "/v1/chat/completions", Map.of(
                    "traceparent", "00-" + CALLER_TRACE + "-" + CALLER_SPAN + "-01")::get);
            request.requestId("req-7");
            request.model("meta-llama/Llama-3.1-8B-Instruct");
            UpstreamSpan attempt = request.attempt("http://10.0.0.7:8000", "http://10.0.0.7:8000", 1, "decode");
            attempt.firstToken();
            attempt.end(500);
            request.end(500);
            tracing.close(); // flushes

            List<Span> spans = receiver.awaitSpans(2);
            OtlpReceiver.Export export = receiver.exports().getFirst();
            if (protocol == OtlpProtocol.GRPC) {
                assertThat(export.path()).isEqualTo("/opentelemetry.proto.collector.trace.v1.TraceService/Export");
            } else {
                assertThat(export.path()).isEqualTo("/v1/traces");
                assertThat(export.headers()).containsEntry("content-type", "application/x-protobuf");
            }
            assertThat(export.headers()).containsEntry("authorization", "Bearer t0ken");
            ResourceSpans rs = export.request().getResourceSpans(0);
            assertThat(attribute(rs.getResource().getAttributesList(), "service.name"))
                    .isEqualTo("router-under-test");
            assertThat(rs.getScopeSpans(0).getScope().getName()).isEqualTo("dev.vllmrouter.tracing");

            assertThat(spans).hasSize(2);
            Span client = spans.get(0);
            Span server = spans.get(1);
            assertThat(server.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
            assertThat(server.getName()).isEqualTo("POST /v1/chat/completions");
            assertThat(hex(server.getTraceId())).isEqualTo(CALLER_TRACE);
            assertThat(hex(server.getParentSpanId())).isEqualTo(CALLER_SPAN);
            assertThat(server.getStatus().getCode()).isEqualTo(Status.StatusCode.STATUS_CODE_ERROR);
            assertThat(attribute(server.getAttributesList(), "vllm_router.request_id")).isEqualTo("req-7");
            assertThat(attribute(server.getAttributesList(), "gen_ai.request.model"))
                    .isEqualTo("meta-llama/Llama-3.1-8B-Instruct");
            assertThat(attribute(server.getAttributesList(), "http.response.status_code")).isEqualTo("500");

            assertThat(client.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
            assertThat(client.getName()).isEqualTo("POST");
            assertThat(hex(client.getTraceId())).isEqualTo(CALLER_TRACE);
            assertThat(hex(client.getParentSpanId())).isEqualTo(hex(server.getSpanId()));
            assertThat(attempt.traceparent()).as("the worker was told the CLIENT span is its parent")
                    .isEqualTo("00-" + CALLER_TRACE + "-" + hex(client.getSpanId()) + "-01");
            assertThat(attribute(client.getAttributesList(), "server.address")).isEqualTo("10.0.0.7");
            assertThat(attribute(client.getAttributesList(), "vllm_router.attempt")).isEqualTo("1");
            assertThat(attribute(client.getAttributesList(), "vllm_router.phase")).isEqualTo("decode");
            assertThat(client.getEventsList()).extracting(Span.Event::getName).containsExactly("first_token");
            assertThat(client.getEndTimeUnixNano()).isGreaterThanOrEqualTo(client.getStartTimeUnixNano());
        }
    }

    @Test
    void vllmRoutersHostPortFlagExportsOverGrpc() {
        try (OtlpReceiver grpc = OtlpReceiver.grpc()) {
            Tracing tracing = Tracing.create(TracingConfig.of(true, grpc.hostPort(), null, null, Map.of()));
            tracing.start("/v1/completions", "POST", "/v1/completions", name -> null).end(200);
            tracing.close();

            assertThat(grpc.awaitSpans(1)).extracting(Span::getName).containsExactly("POST /v1/completions");
        }
    }

    @ParameterizedTest
    @EnumSource(OtlpProtocol.class)
    void gzipCompressedExportsArriveWhole(OtlpProtocol protocol) {
        try (OtlpReceiver receiver = receiver(protocol)) {
            Tracing tracing = tracing(protocol, receiver.url(), "OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
            tracing.start("/v1/completions", "POST", "/v1/completions", name -> null).end(200);
            tracing.close();

            assertThat(receiver.awaitSpans(1)).extracting(Span::getName).containsExactly("POST /v1/completions");
            if (protocol == OtlpProtocol.HTTP_PROTOBUF) {
                assertThat(receiver.exports().getFirst().headers()).containsEntry("content-encoding", "gzip");
            } else {
                assertThat(receiver.exports().getFirst().headers()).containsEntry("grpc-encoding", "gzip");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(OtlpProtocol.class)
    void spansAreBatchedUpToTheBatchSizeAndTheRestGoesAtClose(OtlpProtocol protocol) {
        try (OtlpReceiver receiver = receiver(protocol)) {
            Tracing tracing = tracing(protocol, receiver.url(),
                    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2", "OTEL_BSP_SCHEDULE_DELAY", "3600000");
            for (int i = 1; i <= 5; i++) {
                tracing.start("/v1/completions", "POST", "/v1/completions", name -> null).end(200);
            }
            receiver.awaitSpans(4); // two full batches go without waiting for the (hour-long) delay
            tracing.close();

            assertThat(receiver.awaitSpans(5)).hasSize(5);
            assertThat(receiver.exports()).extracting(e -> e.request().getResourceSpans(0).getScopeSpans(0)
                    .getSpansCount()).containsExactly(2, 2, 1);
        }
    }

    @ParameterizedTest
    @EnumSource(OtlpProtocol.class)
    void aDownCollectorNeitherBlocksNorFailsTheRequestPath(OtlpProtocol protocol) throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        Tracing tracing = tracing(protocol, "http://127.0.0.1:" + closedPort,
                "OTEL_EXPORTER_OTLP_TIMEOUT", "500", "OTEL_BSP_SCHEDULE_DELAY", "1");
        for (int i = 0; i < 50; i++) {
            RequestSpan request = tracing.start("/v1/completions", "POST", "/v1/completions", name -> null);
            UpstreamSpan attempt = request.attempt("w1", "http://w1:8000", 1);
            assertThat(attempt.traceparent()).isNotNull();
            attempt.end(200);
            request.end(200);
        }
        tracing.close(); // gives up after its bound instead of hanging
    }
}
