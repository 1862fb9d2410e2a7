package dev.vllmrouter.sim;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.helidon.webserver.WebServer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The worker's counters settle before the last byte of the answer goes out: a client holding the whole answer sees
 * in-flight 0 and the request served, even while the handler thread has not returned yet. (It used to be counted in
 * a {@code finally} after the send, and a test that checked the counters right after its answer failed now and
 * then.)
 */
class InferencePipelineTest {
    private final HttpClient http = HttpClient.newHttpClient();

    /** A route that answers, then keeps its handler thread busy until released. */
    private record LingeringRoute(CountDownLatch release, boolean stream) implements InferencePipeline.Route<String> {
        @Override
        public String parse(Call call) {
            return "x";
        }

        @Override
        public boolean streaming(String request) {
            return stream;
        }

        @Override
        public void respond(String request, Call call) {
            if (stream) {
                SseWriter sse = new SseWriter(call);
                sse.done();
            } else {
                call.sendJson("{\"ok\":true}".getBytes());
            }
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void check(boolean stream) throws Exception {
        SimContext ctx = new SimContext(SimConfig.builder().build());
        CountDownLatch release = new CountDownLatch(1);
        WebServer server = WebServer.builder().host("127.0.0.1").port(0).shutdownHook(false)
                .routing(r -> r.post("/x", new InferencePipeline(ctx).handler(new LingeringRoute(release, stream))))
                .build().start();
        try {
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/x"))
                    .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString("{}")).build();
            if (stream) {
                // the stream's end is [DONE]; its terminating chunk only follows when the handler returns
                try (var lines = http.send(req, HttpResponse.BodyHandlers.ofLines()).body()) {
                    assertThat(lines.filter(l -> l.equals("data: [DONE]")).findFirst()).isPresent();
                    assertSettled(ctx);
                }
            } else {
                assertThat(http.send(req, HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("{\"ok\":true}");
                assertSettled(ctx);
            }
        } finally {
            release.countDown();
            server.stop();
        }
    }

    private static void assertSettled(SimContext ctx) {
        assertThat(ctx.stats.inFlight.get()).as("in flight, with the whole answer in hand").isZero();
        assertThat(ctx.stats.served.sum()).as("served").isEqualTo(1);
    }

    @Test
    void countersSettleBeforeAPlainAnswerIsSent() throws Exception {
        check(false);
    }

    @Test
    void countersSettleBeforeAStreamsDoneIsSent() throws Exception {
        check(true);
    }
}
