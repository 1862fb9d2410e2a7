package dev.vllmrouter.tracing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * What a sampled span shares whatever its kind: its context, the attributes and events gathered while it runs, and
 * the one-time hand-over of an immutable {@link SpanData} to the exporter's queue when it ends.
 * <p>Invariant: a span is handed over at most once; nothing changes it after its end. Thread-safety: every mutation
 * holds the span's monitor (a few field writes, never I/O, so no virtual thread blocks on it for long); the hand-over
 * happens outside it and never blocks (see {@link BatchSpanProcessor#accept}).
 */
abstract class RecordingSpan {
    final TraceContext context;
    private final String parentSpanId;
    private final String name;
    private final SpanData.Kind kind;
    private final long startNanos;
    final LongSupplier clock;
    final Consumer<SpanData> sink;
    private final Map<String, Object> attributes = new LinkedHashMap<>();
    private final List<SpanData.Event> events = new ArrayList<>(1);
    private SpanData.Status status = SpanData.Status.UNSET;
    private String statusMessage;
    private boolean ended;

    RecordingSpan(TraceContext context, String parentSpanId, String name, SpanData.Kind kind, LongSupplier clock,
                  Consumer<SpanData> sink) {
        this.context = context;
        this.parentSpanId = parentSpanId;
        this.name = name;
        this.kind = kind;
        this.clock = clock;
        this.sink = sink;
        this.startNanos = clock.getAsLong();
    }

    final synchronized void set(String key, Object value) {
        if (!ended && key != null && value != null) {
            attributes.put(key, value);
        }
    }

    /** Records the event unless the span already has one of that name. */
    final synchronized void eventOnce(String eventName) {
        if (!ended && events.stream().noneMatch(e -> e.name().equals(eventName))) {
            events.add(new SpanData.Event(eventName, clock.getAsLong()));
        }
    }

    final synchronized void fail(String message) {
        if (!ended) {
            status = SpanData.Status.ERROR;
            statusMessage = message;
        }
    }

    /**
     * Ends the span once.
     *
     * @param httpStatus   recorded as {@code http.response.status_code} when positive
     * @param errorStatus  whether that status makes the span an error (an earlier {@link #fail} message is kept)
     */
    final void finish(int httpStatus, boolean errorStatus) {
        SpanData data;
        synchronized (this) {
            if (ended) {
                return;
            }
            if (httpStatus > 0) {
                attributes.put("http.response.status_code", (long) httpStatus);
            }
            if (errorStatus) {
                attributes.putIfAbsent("error.type", Integer.toString(httpStatus));
                status = SpanData.Status.ERROR;
            }
            ended = true;
            data = new SpanData(context.traceId(), context.spanId(), parentSpanId, context.traceState(), name, kind,
                    startNanos, clock.getAsLong(), attributes, events, status, statusMessage);
        }
        sink.accept(data);
    }
}
