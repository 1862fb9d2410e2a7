package dev.vllmrouter.tracing;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapSetter;

/**
 * The W3C trace headers that name a span as the parent of a worker's work, written by the SDK's
 * {@link W3CTraceContextPropagator}, once per span, so the request path only reads two strings.
 *
 * @param traceparent always set for a valid context
 * @param tracestate  {@code null} when the trace has no state
 */
record TraceHeaders(String traceparent, String tracestate) {
    static final String TRACEPARENT = "traceparent";
    static final String TRACESTATE = "tracestate";
    private static final TextMapSetter<String[]> SETTER = (carrier, key, value) -> {
        if (carrier != null) {
            carrier[TRACEPARENT.equals(key) ? 0 : 1] = value; // the propagator writes these two only
        }
    };

    static TraceHeaders of(SpanContext context) {
        String[] values = new String[2];
        W3CTraceContextPropagator.getInstance().inject(Context.root().with(Span.wrap(context)), values, SETTER);
        return new TraceHeaders(values[0], values[1]);
    }
}
