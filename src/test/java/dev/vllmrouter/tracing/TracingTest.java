package dev.vllmrouter.tracing;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

/**
 * The request path's view, on the real SDK with an in-memory exporter, a hand-moved clock and counted ids: which
 * spans a request makes, how they link, and which headers go to the worker.
 */
class TracingTest {
    private static final String IN_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String IN_SPAN = "00f067aa0ba902b7";
    private static final String ROOT = "0000000000000000";

    private final AtomicLong clock = new AtomicLong(1_000);
    private final AtomicLong counter = new AtomicLong();
    private final InMemorySpanExporter exporter = InMemorySpanExporter.create();

    private final Clock testClock = new Clock() {
        @Override
        public long now() {
            return clock.get();
        }

        @Override
        public long nanoTime() {
            return clock.get();
        }
    };

    /** Span ids 1, 2, 3...; a new trace id takes two numbers. */
    private final IdGenerator ids = new IdGenerator() {
        @Override
        public String generateSpanId() {
            return id(counter.incrementAndGet());
        }

        @Override
        public String generateTraceId() {
            return id(counter.incrementAndGet()) + id(counter.incrementAndGet());
        }
    };

    private Tracing tracing(TracingConfig config) {
        return Tracing.of(config, new OtelTracer(config, SimpleSpanProcessor.create(exporter), testClock, ids));
    }

    private Tracing tracing(double ratio, List<String> excluded) {
        return tracing(TracingConfig.of(true, null, ratio, excluded, Map.of()));
    }

    private Tracing tracing() {
        return tracing(1, null);
    }

    private List<SpanData> exported() {
        return exporter.getFinishedSpanItems();
    }

    private static Function<String, String> headers(Map<String, String> headers) {
        return headers::get;
    }

    private static String id(long n) {
        return String.format("%016x", n);
    }

    private static Object attr(SpanData span, String key) {
        return span.getAttributes().asMap().entrySet().stream().filter(e -> e.getKey().getKey().equals(key))
                .map(Map.Entry::getValue).findFirst().orElse(null);
    }

    private static Map<String, Object> attrs(SpanData span) {
        Map<String, Object> out = new java.util.TreeMap<>();
        span.getAttributes().forEach((k, v) -> out.put(k.getKey(), v));
        return out;
    }

    @Test
    void disabledIsOneInstanceWhoseSpansDoNothing() {
        Tracing tracing = Tracing.disabled();
        assertThat(Tracing.create(TracingConfig.disabled())).isSameAs(tracing);
        assertThat(tracing.enabled()).isFalse();

        RequestSpan request = tracing.start("/v1/chat/completions", "POST", "/v1/chat/completions", name -> {
            throw new AssertionError("headers must not be read when tracing is off");
        });
        UpstreamSpan upstream = request.attempt("w1", "http://w1:8000", 1);

        assertThat(request).isSameAs(RequestSpan.NOOP);
        assertThat(upstream).isSameAs(UpstreamSpan.NOOP);
        assertThat(request.recording()).isFalse();
        assertThat(upstream.traceparent()).isNull(); // the client's own trace headers pass through
        assertThat(upstream.tracestate()).isNull();
        upstream.firstToken();
        upstream.end(200);
        request.end(200);
        tracing.close();
    }

    @Test
    void excludedPathsGetNoSpanAndTheirHeadersAreNotRead() {
        Tracing tracing = tracing();
        for (String path : TracingConfig.DEFAULT_EXCLUDED_PATHS) {
            assertThat(tracing.start(path, "GET", path, name -> {
                throw new AssertionError(path);
            })).isSameAs(RequestSpan.NOOP);
        }
        assertThat(tracing(1, List.of("/metrics")).start("/health", "GET", "/health", name -> null).recording())
                .as("a non-empty list replaces the defaults").isTrue();
    }

    @Test
    void aRequestWithoutTraceparentStartsANewSampledTrace() {
        RequestSpan request = tracing().start("/v1/chat/completions", "POST", "/v1/chat/completions",
                headers(Map.of()));
        request.requestId("req-1");
        request.model("llama");
        clock.set(5_000);
        request.end(200);

        assertThat(exported()).hasSize(1);
        SpanData span = exported().getFirst();
        assertThat(span.getTraceId()).hasSize(32).isNotEqualTo("0".repeat(32));
        assertThat(span.getParentSpanId()).isEqualTo(ROOT);
        assertThat(span.getKind()).isEqualTo(SpanKind.SERVER);
        assertThat(span.getName()).isEqualTo("POST /v1/chat/completions");
        assertThat(span.getStartEpochNanos()).isEqualTo(1_000);
        assertThat(span.getEndEpochNanos()).isEqualTo(5_000);
        assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
        assertThat(span.getInstrumentationScopeInfo().getName()).isEqualTo("dev.vllmrouter.tracing");
        assertThat(attrs(span)).containsOnly(
                entry("http.request.method", "POST"),
                entry("url.path", "/v1/chat/completions"),
                entry("http.route", "/v1/chat/completions"),
                entry("vllm_router.request_id", "req-1"),
                entry("gen_ai.request.model", "llama"),
                entry("http.response.status_code", 200L));
    }

    @Test
    void theResourceNamesTheRouterAndTakesTheEnvironmentsAttributes() {
        tracing(TracingConfig.of(true, null, null, null, Map.of("HOSTNAME", "pod-7",
                "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=ignored",
                "OTEL_SERVICE_NAME", "router-a")))
                .start("/v1/models", "GET", "/v1/models", headers(Map.of())).end(200);

        var resource = exported().getFirst().getResource();
        assertThat(resource.getAttribute(AttributeKey.stringKey("service.name"))).isEqualTo("router-a");
        assertThat(resource.getAttribute(AttributeKey.stringKey("deployment.environment"))).isEqualTo("prod");
        assertThat(resource.getAttribute(AttributeKey.stringKey("service.instance.id")))
                .isEqualTo("pod-7-" + ProcessHandle.current().pid());
        assertThat(resource.getAttribute(AttributeKey.stringKey("service.version"))).isNotBlank();
        assertThat(resource.getAttribute(AttributeKey.stringKey("telemetry.sdk.name"))).isEqualTo("opentelemetry");
    }

    @Test
    void aSampledIncomingContextIsContinuedAndTheAttemptIsItsChild() {
        RequestSpan request = tracing(0, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of(
                "traceparent", "00-" + IN_TRACE + "-" + IN_SPAN + "-01", "tracestate", "congo=t61rcWkgMzE")));
        UpstreamSpan attempt = request.attempt("w1", "http://10.0.0.7:8000/", 1);
        clock.set(2_000);
        attempt.firstToken();
        attempt.firstToken(); // only the first counts
        clock.set(3_000);
        attempt.end(200);
        request.end(200);

        assertThat(exported()).extracting(SpanData::getKind).containsExactly(SpanKind.CLIENT, SpanKind.SERVER);
        SpanData client = exported().get(0);
        SpanData server = exported().get(1);
        assertThat(server.getTraceId()).isEqualTo(IN_TRACE);
        assertThat(server.getParentSpanId()).isEqualTo(IN_SPAN);
        assertThat(server.getParentSpanContext().isRemote()).isTrue();
        assertThat(server.getSpanContext().getTraceState().get("congo")).isEqualTo("t61rcWkgMzE");
        assertThat(client.getTraceId()).isEqualTo(IN_TRACE);
        assertThat(client.getParentSpanId()).isEqualTo(server.getSpanId());
        assertThat(attempt.traceparent()).as("the worker is told the CLIENT span is its parent")
                .isEqualTo("00-" + IN_TRACE + "-" + client.getSpanId() + "-01");
        assertThat(attempt.tracestate()).isEqualTo("congo=t61rcWkgMzE");
        assertThat(client.getName()).isEqualTo("POST");
        assertThat(client.getEvents()).extracting(EventData::getName, EventData::getEpochNanos)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("first_token", 2_000L));
        assertThat(client.getEndEpochNanos()).isEqualTo(3_000);
        assertThat(attrs(client)).containsOnly(
                entry("http.request.method", "POST"),
                entry("server.address", "10.0.0.7"),
                entry("server.port", 8000L),
                entry("url.full", "http://10.0.0.7:8000/v1/completions"),
                entry("vllm_router.worker", "w1"),
                entry("vllm_router.attempt", 1L),
                entry("vllm_router.phase", "inference"),
                entry("http.response.status_code", 200L));
    }

    @Test
    void anUnsampledIncomingContextRecordsNothingButStillPropagatesUnsampled() {
        RequestSpan request = tracing().start("/v1/completions", "POST", "/v1/completions", headers(Map.of(
                "traceparent", "00-" + IN_TRACE + "-" + IN_SPAN + "-00", "tracestate", "a=1")));
        UpstreamSpan first = request.attempt("w1", "http://w1:8000", 1);
        UpstreamSpan second = request.attempt("w2", "http://w2:8000", 2);

        assertThat(request.recording()).isFalse();
        assertThat(first.traceparent()).startsWith("00-" + IN_TRACE + "-").endsWith("-00")
                .doesNotContain(IN_SPAN);
        assertThat(first.tracestate()).isEqualTo("a=1");
        assertThat(second).isSameAs(first); // nothing to record: no allocation per attempt
        first.end(503);
        request.end(503);
        assertThat(exported()).isEmpty();
    }

    @Test
    void anUnsampledNewRootPropagatesItsTraceIdSoWorkersMakeTheSameDecision() {
        RequestSpan request = tracing(0, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));

        assertThat(request.recording()).isFalse();
        assertThat(request.attempt("w1", "http://w1:8000", 1).traceparent())
                .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00");
        request.end(200);
        assertThat(exported()).isEmpty();
    }

    @Test
    void withoutParentBasedSamplingTheRatioOverridesTheCallersFlag() {
        Tracing tracing = tracing(TracingConfig.of(true, null, null, null, Map.of(
                "OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "0")));
        RequestSpan request = tracing.start("/v1/completions", "POST", "/v1/completions", headers(Map.of(
                "traceparent", "00-" + IN_TRACE + "-" + IN_SPAN + "-01")));

        assertThat(request.recording()).isFalse();
        assertThat(request.attempt("w1", "http://w1:8000", 1).traceparent()).startsWith("00-" + IN_TRACE)
                .endsWith("-00");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero span id
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",    // no flags
            "garbage"})
    void aMalformedTraceparentStartsANewTraceAndDropsTheTracestate(String traceparent) {
        RequestSpan request = tracing().start("/v1/completions", "POST", "/v1/completions", headers(Map.of(
                "traceparent", traceparent, "tracestate", "a=1")));
        request.end(200);

        SpanData span = exported().getFirst();
        assertThat(span.getTraceId()).isNotEqualTo(IN_TRACE);
        assertThat(span.getParentSpanId()).isEqualTo(ROOT);
        assertThat(span.getSpanContext().getTraceState().isEmpty()).isTrue();
    }

    @Test
    void aLaterVersionIsReadByTheVersion00Layout() {
        tracing().start("/v1/completions", "POST", "/v1/completions", headers(Map.of(
                "traceparent", "01-" + IN_TRACE + "-" + IN_SPAN + "-01-what-the-future-holds"))).end(200);

        assertThat(exported().getFirst().getTraceId()).isEqualTo(IN_TRACE);
        assertThat(exported().getFirst().getParentSpanId()).isEqualTo(IN_SPAN);
    }

    @Test
    void serverSpansFailOn5xxOnlyClientSpansOn4xxToo() {
        Tracing tracing = tracing();
        RequestSpan ok = tracing.start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        UpstreamSpan rejected = ok.attempt("w1", "http://w1:8000", 1);
        rejected.end(400);
        ok.end(400);
        RequestSpan failed = tracing.start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        failed.end(502);

        assertThat(exported()).extracting(SpanData::getKind, s -> s.getStatus().getStatusCode()).containsExactly(
                org.assertj.core.groups.Tuple.tuple(SpanKind.CLIENT, StatusCode.ERROR),
                org.assertj.core.groups.Tuple.tuple(SpanKind.SERVER, StatusCode.UNSET),
                org.assertj.core.groups.Tuple.tuple(SpanKind.SERVER, StatusCode.ERROR));
        assertThat(attr(exported().get(0), "error.type")).isEqualTo("400");
        assertThat(attr(exported().get(1), "error.type")).isNull();
        assertThat(attr(exported().get(2), "error.type")).isEqualTo("502");
    }

    @Test
    void anErrorMessageIsTheStatusMessageAndATransportFailureHasNoStatusCode() {
        RequestSpan request = tracing().start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        UpstreamSpan attempt = request.attempt("w1", "http://w1:8000", 1, "prefill");
        attempt.error("java.net.ConnectException: Connection refused");
        attempt.end(0);
        request.error("no worker answered");
        request.end(502);

        SpanData client = exported().get(0);
        assertThat(client.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(client.getStatus().getDescription()).isEqualTo("java.net.ConnectException: Connection refused");
        assertThat(attr(client, "http.response.status_code")).isNull();
        assertThat(attr(client, "vllm_router.phase")).isEqualTo("prefill");
        assertThat(exported().get(1).getStatus().getDescription()).isEqualTo("no worker answered");
    }

    @Test
    void endingTwiceExportsOnceAndLateSettersAreIgnored() {
        RequestSpan request = tracing().start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        request.end(200);
        request.model("late");
        request.error("late");
        request.end(500);

        assertThat(exported()).hasSize(1);
        assertThat(attr(exported().getFirst(), "gen_ai.request.model")).isNull();
        assertThat(attr(exported().getFirst(), "http.response.status_code")).isEqualTo(200L);
        assertThat(exported().getFirst().getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    }

    @Test
    void endingTheRequestEndsAttemptsLeftOpenBeforeIt() {
        RequestSpan request = tracing().start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        UpstreamSpan done = request.attempt("w1", "http://w1:8000", 1);
        done.end(503);
        request.attempt("w2", "http://w2:8000", 2); // an exception skipped its end
        clock.set(9_000);
        request.end(500);

        assertThat(exported()).extracting(s -> attr(s, "vllm_router.worker")).containsExactly("w1", "w2", null);
        SpanData orphan = exported().get(1);
        assertThat(orphan.getEndEpochNanos()).isEqualTo(9_000);
        assertThat(attr(orphan, "http.response.status_code")).isNull();
    }

    @Test
    void aWorkerUrlThatIsNotAUrlStillNamesTheWorker() {
        RequestSpan request = tracing().start(null, "GET", "/v1/models", headers(Map.of()));
        request.attempt("sim-1", "not a url", 1).end(200);
        request.end(200);

        assertThat(attr(exported().get(0), "vllm_router.worker")).isEqualTo("sim-1");
        assertThat(attr(exported().get(0), "server.address")).isNull();
        assertThat(attr(exported().get(0), "server.port")).isNull();
        assertThat(exported().get(1).getName()).isEqualTo("GET");
    }

    @Test
    void raceOfAttemptsEndingAgainstTheirRequestEndingExportsEachSpanExactlyOnce() throws Exception {
        RequestSpan request = tracing().start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        int attempts = 64;
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 1; i <= attempts; i++) {
                int attempt = i;
                threads.submit(() -> {
                    UpstreamSpan span = request.attempt("w" + attempt, "http://w:8000", attempt);
                    go.await();
                    span.end(200);
                    return null;
                });
            }
            threads.submit(() -> {
                go.await();
                request.end(200);
                return null;
            });
            go.countDown();
        }

        assertThat(exported()).filteredOn(s -> s.getKind() == SpanKind.CLIENT)
                .as("each attempt ended by itself or by its request, never both")
                .extracting(SpanData::getSpanId).hasSize(attempts).doesNotHaveDuplicates();
        assertThat(exported()).filteredOn(s -> s.getKind() == SpanKind.SERVER).hasSize(1);
    }
}
