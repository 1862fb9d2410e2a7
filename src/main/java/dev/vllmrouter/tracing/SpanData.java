package dev.vllmrouter.tracing;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ended span, immutable, as handed to the exporter.
 *
 * @param parentSpanId {@code null} for a root
 * @param traceState   the W3C {@code tracestate} the span was started with, or {@code null}
 * @param attributes   values are {@link String} or {@link Long}, in insertion order
 * @param statusMessage {@code null} unless the status is {@link Status#ERROR} with a reason
 */
record SpanData(String traceId, String spanId, String parentSpanId, String traceState, String name, Kind kind,
                long startEpochNanos, long endEpochNanos, Map<String, Object> attributes, List<Event> events,
                Status status, String statusMessage) {

    /** OTLP {@code Span.SpanKind}: the number is what goes on the wire. */
    enum Kind {
        SERVER(2), CLIENT(3);

        final int otlp;

        Kind(int otlp) {
            this.otlp = otlp;
        }
    }

    /** OTLP {@code Status.StatusCode}. */
    enum Status {
        UNSET(0), OK(1), ERROR(2);

        final int otlp;

        Status(int otlp) {
            this.otlp = otlp;
        }
    }

    record Event(String name, long epochNanos) {
    }

    SpanData {
        attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes)); // Map.copyOf would lose the order
        events = List.copyOf(events);
    }
}
