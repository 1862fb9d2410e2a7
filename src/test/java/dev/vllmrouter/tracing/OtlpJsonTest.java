package dev.vllmrouter.tracing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class OtlpJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A request with one failed attempt, as the request path produces it. */
    private static List<SpanData> requestWithOneFailedAttempt() {
        AtomicLong clock = new AtomicLong(1_700_000_000_000_000_000L);
        AtomicLong ids = new AtomicLong();
        List<SpanData> spans = new ArrayList<>();
        Tracing tracing = new Tracing(TracingConfig.of(true, null, null, 1, null), clock::get, ids::incrementAndGet,
                spans::add, null);
        RequestSpan request = tracing.start("/v1/chat/completions", "POST", "/v1/chat/completions", Map.of(
                "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "tracestate", "congo=t61rcWkgMzE")::get);
        UpstreamSpan attempt = request.attempt("w1", "http://w1:8000", 1);
        clock.addAndGet(1_000);
        attempt.firstToken();
        attempt.error("worker \"w1\" failed");
        attempt.end(503);
        request.end(503);
        return spans;
    }

    static JsonNode attribute(JsonNode owner, String key) {
        for (JsonNode a : owner.get("attributes")) {
            if (a.get("key").asText().equals(key)) {
                return a.get("value");
            }
        }
        return null;
    }

    @Test
    void writesTheOtlpJsonShape() throws Exception {
        JsonNode root = JSON.readTree(OtlpJson.encode("vllm-router", requestWithOneFailedAttempt()));

        JsonNode resourceSpans = root.get("resourceSpans").get(0);
        assertThat(attribute(resourceSpans.get("resource"), "service.name").get("stringValue").asText())
                .isEqualTo("vllm-router");
        JsonNode scopeSpans = resourceSpans.get("scopeSpans").get(0);
        assertThat(scopeSpans.get("scope").get("name").asText()).isEqualTo("dev.vllmrouter.tracing");
        JsonNode client = scopeSpans.get("spans").get(0);
        JsonNode server = scopeSpans.get("spans").get(1);

        assertThat(server.get("traceId").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(server.get("spanId").asText()).isEqualTo("0000000000000001");
        assertThat(server.get("parentSpanId").asText()).isEqualTo("00f067aa0ba902b7");
        assertThat(server.get("traceState").asText()).isEqualTo("congo=t61rcWkgMzE");
        assertThat(server.get("kind").asInt()).isEqualTo(2);
        assertThat(server.get("name").asText()).isEqualTo("POST /v1/chat/completions");
        assertThat(server.get("startTimeUnixNano").isTextual()).isTrue();
        assertThat(server.get("startTimeUnixNano").asText()).isEqualTo("1700000000000000000");
        assertThat(server.get("endTimeUnixNano").asText()).isEqualTo("1700000000000001000");
        assertThat(server.get("status").get("code").asInt()).isEqualTo(2);
        assertThat(server.get("status").has("message")).isFalse();
        assertThat(attribute(server, "http.response.status_code").get("intValue").asText()).isEqualTo("503");
        assertThat(attribute(server, "http.route").get("stringValue").asText()).isEqualTo("/v1/chat/completions");

        assertThat(client.get("kind").asInt()).isEqualTo(3);
        assertThat(client.get("parentSpanId").asText()).isEqualTo(server.get("spanId").asText());
        assertThat(client.get("status").get("message").asText()).isEqualTo("worker \"w1\" failed");
        assertThat(client.get("events").get(0).get("name").asText()).isEqualTo("first_token");
        assertThat(client.get("events").get(0).get("timeUnixNano").asText()).isEqualTo("1700000000000001000");
        assertThat(attribute(client, "vllm_router.attempt").get("intValue").asText()).isEqualTo("1");
        assertThat(attribute(client, "server.address").get("stringValue").asText()).isEqualTo("w1");
    }

    @Test
    void leavesOutWhatARootWithoutStatusOrEventsDoesNotHave() throws Exception {
        JsonNode span = JSON.readTree(OtlpJson.encode("vllm-router", List.of(Spans.server(1))))
                .at("/resourceSpans/0/scopeSpans/0/spans/0");

        assertThat(span.has("parentSpanId")).isFalse();
        assertThat(span.has("traceState")).isFalse();
        assertThat(span.has("status")).isFalse();
        assertThat(span.has("events")).isFalse();
    }
}
