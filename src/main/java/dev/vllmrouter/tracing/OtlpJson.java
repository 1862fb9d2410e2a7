package dev.vllmrouter.tracing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

/**
 * Encodes spans as an OTLP/HTTP JSON {@code ExportTraceServiceRequest}: one resource ({@code service.name}), one
 * scope, the spans. Follows the protobuf JSON mapping as OTLP specifies it: ids are lowercase hex (not base64), 64-bit
 * integers (times, {@code intValue}) are decimal strings, enums are numbers, and absent optional fields are left out.
 * Pure and thread-safe.
 */
final class OtlpJson {
    static final String SCOPE_NAME = "dev.vllmrouter.tracing";
    private static final JsonFactory JSON = new JsonFactory();

    private OtlpJson() {
    }

    static byte[] encode(String serviceName, List<SpanData> spans) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + 512 * spans.size());
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeArrayFieldStart("resourceSpans");
            g.writeStartObject();
            g.writeObjectFieldStart("resource");
            writeAttributes(g, Map.of("service.name", serviceName));
            g.writeEndObject();
            g.writeArrayFieldStart("scopeSpans");
            g.writeStartObject();
            g.writeObjectFieldStart("scope");
            g.writeStringField("name", SCOPE_NAME);
            g.writeEndObject();
            g.writeArrayFieldStart("spans");
            for (SpanData span : spans) {
                writeSpan(g, span);
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return out.toByteArray();
    }

    private static void writeSpan(JsonGenerator g, SpanData span) throws IOException {
        g.writeStartObject();
        g.writeStringField("traceId", span.traceId());
        g.writeStringField("spanId", span.spanId());
        if (span.parentSpanId() != null) {
            g.writeStringField("parentSpanId", span.parentSpanId());
        }
        if (span.traceState() != null) {
            g.writeStringField("traceState", span.traceState());
        }
        g.writeStringField("name", span.name());
        g.writeNumberField("kind", span.kind().otlp);
        g.writeStringField("startTimeUnixNano", Long.toString(span.startEpochNanos()));
        g.writeStringField("endTimeUnixNano", Long.toString(span.endEpochNanos()));
        writeAttributes(g, span.attributes());
        if (!span.events().isEmpty()) {
            g.writeArrayFieldStart("events");
            for (SpanData.Event event : span.events()) {
                g.writeStartObject();
                g.writeStringField("timeUnixNano", Long.toString(event.epochNanos()));
                g.writeStringField("name", event.name());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        if (span.status() != SpanData.Status.UNSET) {
            g.writeObjectFieldStart("status");
            g.writeNumberField("code", span.status().otlp);
            if (span.statusMessage() != null) {
                g.writeStringField("message", span.statusMessage());
            }
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static void writeAttributes(JsonGenerator g, Map<String, Object> attributes) throws IOException {
        g.writeArrayFieldStart("attributes");
        for (Map.Entry<String, Object> a : attributes.entrySet()) {
            g.writeStartObject();
            g.writeStringField("key", a.getKey());
            g.writeObjectFieldStart("value");
            if (a.getValue() instanceof Long n) {
                g.writeStringField("intValue", n.toString());
            } else {
                g.writeStringField("stringValue", String.valueOf(a.getValue()));
            }
            g.writeEndObject();
            g.writeEndObject();
        }
        g.writeEndArray();
    }
}
