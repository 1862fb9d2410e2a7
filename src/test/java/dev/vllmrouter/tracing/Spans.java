package dev.vllmrouter.tracing;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Ended spans for exporter tests. */
final class Spans {
    private Spans() {
    }

    static SpanData server(int n) {
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put("http.request.method", "POST");
        attributes.put("http.response.status_code", 200L);
        return new SpanData("4bf92f3577b34da6a3ce929d0e0e4736", String.format("%016x", n), null, null,
                "POST /v1/completions", SpanData.Kind.SERVER, 1_000L * n, 1_000L * n + 500, attributes, List.of(),
                SpanData.Status.UNSET, null);
    }
}
