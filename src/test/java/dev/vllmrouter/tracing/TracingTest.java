package dev.vllmrouter.tracing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

/** The request path's view: which spans a request makes, how they link, and which headers go to the worker. */
class TracingTest {
    private static final String IN_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String IN_SPAN = "00f067aa0ba902b7";
    // ids from the counter below: trace 1|2, request span 3, first attempt 4, ...
    private static final String NEW_TRACE = "0000000000000001" + "0000000000000002";

    private final AtomicLong clock = new AtomicLong(1_000);
    private final AtomicLong counter = new AtomicLong();
    private final List<SpanData> exported = new ArrayList<>();

    private Tracing tracing(double ratio, List<String> excluded) {
        return new Tracing(TracingConfig.of(true, null, null, ratio, excluded), clock::get, counter::incrementAndGet,
                exported::add, null);
    }

    private static Function<String, String> headers(Map<String, String> headers) {
        return headers::get;
    }

    private static String id(long n) {
        return String.format("%016x", n);
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
        assertThat(tracing.droppedSpans()).isZero();
    }

    @Test
    void excludedPathsGetNoSpanAndTheirHeadersAreNotRead() {
        Tracing tracing = tracing(1, null);
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
        RequestSpan request = tracing(1, null).start("/v1/chat/completions", "POST", "/v1/chat/completions",
                headers(Map.of()));
        request.requestId("req-1");
        request.model("llama");
        clock.set(5_000);
        request.end(200);

        assertThat(exported).hasSize(1);
        SpanData span = exported.getFirst();
        assertThat(span.traceId()).isEqualTo(NEW_TRACE);
        assertThat(span.spanId()).isEqualTo(id(3));
        assertThat(span.parentSpanId()).isNull();
        assertThat(span.kind()).isEqualTo(SpanData.Kind.SERVER);
        assertThat(span.name()).isEqualTo("POST /v1/chat/completions");
        assertThat(span.startEpochNanos()).isEqualTo(1_000);
        assertThat(span.endEpochNanos()).isEqualTo(5_000);
        assertThat(span.status()).isEqualTo(SpanData.Status.UNSET);
        assertThat(span.attributes()).containsExactly(
                entry("http.request.method", "POST"),
                entry("url.path", "/v1/chat/completions"),
                entry("http.route", "/v1/chat/completions"),
                entry("vllm_router.request_id", "req-1"),
                entry("gen_ai.request.model", "llama"),
                entry("http.response.status_code", 200L));
    }

    @Test
    void aSampledIncomingContextIsContinuedAndTheAttemptIsItsChild() {
        RequestSpan request = tracing(0, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of(
                "traceparent", "00-" + IN_TRACE + "-" + IN_SPAN + "-01", "tracestate", "congo=t61rcWkgMzE")));
        UpstreamSpan attempt = request.attempt("w1", "http://10.0.0.7:8000/", 1);

        // ids: request span 1, attempt 2 (no new trace id was drawn)
        assertThat(attempt.traceparent()).isEqualTo("00-" + IN_TRACE + "-" + id(2) + "-01");
        assertThat(attempt.tracestate()).isEqualTo("congo=t61rcWkgMzE");
        clock.set(2_000);
        attempt.firstToken();
        clock.set(3_000);
        attempt.end(200);
        request.end(200);

        assertThat(exported).extracting(SpanData::kind).containsExactly(SpanData.Kind.CLIENT, SpanData.Kind.SERVER);
        SpanData client = exported.get(0);
        SpanData server = exported.get(1);
        assertThat(server.traceId()).isEqualTo(IN_TRACE);
        assertThat(server.parentSpanId()).isEqualTo(IN_SPAN);
        assertThat(server.traceState()).isEqualTo("congo=t61rcWkgMzE");
        assertThat(client.traceId()).isEqualTo(IN_TRACE);
        assertThat(client.parentSpanId()).isEqualTo(server.spanId());
        assertThat(client.spanId()).isEqualTo(id(2));
        assertThat(client.name()).isEqualTo("POST");
        assertThat(client.events()).containsExactly(new SpanData.Event("first_token", 2_000));
        assertThat(client.attributes()).containsExactly(
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
        RequestSpan request = tracing(1, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of(
                "traceparent", "00-" + IN_TRACE + "-" + IN_SPAN + "-00", "tracestate", "a=1")));
        UpstreamSpan first = request.attempt("w1", "http://w1:8000", 1);
        UpstreamSpan second = request.attempt("w2", "http://w2:8000", 2);

        assertThat(request.recording()).isFalse();
        assertThat(first.traceparent()).isEqualTo("00-" + IN_TRACE + "-" + id(1) + "-00");
        assertThat(first.tracestate()).isEqualTo("a=1");
        assertThat(second).isSameAs(first); // nothing to record: no allocation per attempt
        first.end(503);
        request.end(503);
        assertThat(exported).isEmpty();
    }

    @Test
    void anUnsampledNewRootPropagatesItsTraceIdSoWorkersMakeTheSameDecision() {
        RequestSpan request = tracing(0, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));

        assertThat(request.attempt("w1", "http://w1:8000", 1).traceparent())
                .isEqualTo("00-" + NEW_TRACE + "-" + id(3) + "-00");
        request.end(200);
        assertThat(exported).isEmpty();
    }

    @Test
    void aMalformedTraceparentStartsANewTraceAndDropsTheTracestate() {
        RequestSpan request = tracing(1, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of(
                "traceparent", "00-" + IN_TRACE + "-0000000000000000-01", "tracestate", "a=1")));
        request.end(200);

        assertThat(exported.getFirst().traceId()).isEqualTo(NEW_TRACE);
        assertThat(exported.getFirst().parentSpanId()).isNull();
        assertThat(exported.getFirst().traceState()).isNull();
    }

    @Test
    void serverSpansFailOn5xxOnlyClientSpansOn4xxToo() {
        Tracing tracing = tracing(1, null);
        RequestSpan ok = tracing.start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        UpstreamSpan rejected = ok.attempt("w1", "http://w1:8000", 1);
        rejected.end(400);
        ok.end(400);
        RequestSpan failed = tracing.start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        failed.end(502);

        assertThat(exported).extracting(SpanData::kind, SpanData::status).containsExactly(
                org.assertj.core.groups.Tuple.tuple(SpanData.Kind.CLIENT, SpanData.Status.ERROR),
                org.assertj.core.groups.Tuple.tuple(SpanData.Kind.SERVER, SpanData.Status.UNSET),
                org.assertj.core.groups.Tuple.tuple(SpanData.Kind.SERVER, SpanData.Status.ERROR));
        assertThat(exported.get(0).attributes()).contains(entry("error.type", "400"));
        assertThat(exported.get(2).attributes()).contains(entry("error.type", "502"));
    }

    @Test
    void anErrorMessageIsTheStatusMessageAndATransportFailureHasNoStatusCode() {
        RequestSpan request = tracing(1, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        UpstreamSpan attempt = request.attempt("w1", "http://w1:8000", 1, "prefill");
        attempt.error("java.net.ConnectException: Connection refused");
        attempt.end(0);
        request.error("no worker answered");
        request.end(502);

        SpanData client = exported.get(0);
        assertThat(client.status()).isEqualTo(SpanData.Status.ERROR);
        assertThat(client.statusMessage()).isEqualTo("java.net.ConnectException: Connection refused");
        assertThat(client.attributes()).doesNotContainKey("http.response.status_code")
                .contains(entry("vllm_router.phase", "prefill"));
        assertThat(exported.get(1).statusMessage()).isEqualTo("no worker answered");
    }

    @Test
    void endingTwiceExportsOnceAndLateSettersAreIgnored() {
        RequestSpan request = tracing(1, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        request.end(200);
        request.model("late");
        request.end(500);

        assertThat(exported).hasSize(1);
        assertThat(exported.getFirst().attributes()).doesNotContainKey("gen_ai.request.model")
                .contains(entry("http.response.status_code", 200L));
    }

    @Test
    void endingTheRequestEndsAttemptsLeftOpenBeforeIt() {
        RequestSpan request = tracing(1, null).start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
        UpstreamSpan done = request.attempt("w1", "http://w1:8000", 1);
        done.end(503);
        request.attempt("w2", "http://w2:8000", 2); // an exception skipped its end
        clock.set(9_000);
        request.end(500);

        assertThat(exported).extracting(s -> s.attributes().get("vllm_router.worker"))
                .containsExactly("w1", "w2", null);
        SpanData orphan = exported.get(1);
        assertThat(orphan.endEpochNanos()).isEqualTo(9_000);
        assertThat(orphan.attributes()).doesNotContainKey("http.response.status_code");
    }

    @Test
    void aWorkerUrlThatIsNotAUrlStillNamesTheWorker() {
        RequestSpan request = tracing(1, null).start(null, "GET", "/v1/models", headers(Map.of()));
        request.attempt("sim-1", "not a url", 1).end(200);
        request.end(200);

        assertThat(exported.get(0).attributes()).contains(entry("vllm_router.worker", "sim-1"))
                .doesNotContainKeys("server.address", "server.port");
        assertThat(exported.get(1).name()).isEqualTo("GET");
    }

    @Test
    void raceOfAttemptsEndingAgainstTheirRequestEndingExportsEachSpanExactlyOnce() throws Exception {
        java.util.Queue<SpanData> sink = new java.util.concurrent.ConcurrentLinkedQueue<>();
        Tracing tracing = new Tracing(TracingConfig.of(true, null, null, 1, null), clock::get,
                counter::incrementAndGet, sink::add, null);
        RequestSpan request = tracing.start("/v1/completions", "POST", "/v1/completions", headers(Map.of()));
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

        assertThat(sink).filteredOn(s -> s.kind() == SpanData.Kind.CLIENT)
                .as("each attempt ended by itself or by its request, never both")
                .extracting(SpanData::spanId).hasSize(attempts).doesNotHaveDuplicates();
        assertThat(sink).filteredOn(s -> s.kind() == SpanData.Kind.SERVER).hasSize(1);
    }
}
