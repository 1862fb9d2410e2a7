package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.testing.Fleet;

/**
 * Admission control and graceful drain, end to end: the limit holds until a stream's last byte, a full queue answers
 * 429 with Retry-After, a queue wait ends in 408, a waiting request whose client left never reaches a worker, and a
 * drain refuses new work while letting running streams finish.
 */
class AdmissionIT {
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    private static final String SLOW_STREAM = "{\"model\":\"demo\",\"stream\":true,\"max_tokens\":100000,"
            + "\"prompt\":\"long\"}";

    @Test
    void theLimitHoldsUntilTheStreamEndsAndAFullQueueGets429WithRetryAfter() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--max-concurrent-requests", "1", "--queue-size", "0")) {
            fleet.worker(0).faults().latency(Duration.ZERO, Duration.ofMillis(20));
            HttpResponse<InputStream> stream = fleet.http().send(streamRequest(fleet),
                    HttpResponse.BodyHandlers.ofInputStream());
            BufferedReader reader = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
            assertThat(reader.readLine()).startsWith("data: ");

            // the stream's head went out long ago; its slot is still taken
            HttpResponse<String> refused = fleet.post("/v1/chat/completions", CHAT);
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("retry-after")).hasValueSatisfying(
                    v -> assertThat(Integer.parseInt(v)).isBetween(1, 60));
            assertThat(refused.body()).contains("\"type\":\"RateLimitError\"").contains("\"code\":429");
            assertThat(fleet.worker(0).served()).isZero();

            stream.body().close(); // the client leaves: the slot comes back
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().admission().inFlight() == 0);
            fleet.worker(0).faults().clearLatency();
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
            // the answer reaches the client just before the handler returns the slot
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().admission().inFlight() == 0);
        }
    }

    @Test
    void aQueuedRequestRunsWhenASlotFrees() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--max-concurrent-requests", "1", "--queue-size", "4")) {
            fleet.worker(0).faults().hang(true);
            CompletableFuture<HttpResponse<String>> first = postAsync(fleet, CHAT);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.worker(0).inFlight() == 1);
            CompletableFuture<HttpResponse<String>> second = postAsync(fleet, CHAT);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().admission().queued() == 1);
            assertThat(chats(fleet)).isEqualTo(1);

            fleet.worker(0).faults().hang(false);
            assertThat(first.get().statusCode()).isEqualTo(200);
            assertThat(second.get().statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().admission().inFlight() == 0);
            fleet.awaitRouterIdle();
        }
    }

    @Test
    void aRequestThatWaitsTooLongGets408() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--max-concurrent-requests", "1", "--queue-size", "4",
                "--queue-timeout-secs", "1")) {
            fleet.worker(0).faults().hang(true);
            CompletableFuture<HttpResponse<String>> first = postAsync(fleet, CHAT);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.worker(0).inFlight() == 1);

            HttpResponse<String> timedOut = fleet.post("/v1/chat/completions", CHAT);
            assertThat(timedOut.statusCode()).isEqualTo(408);
            assertThat(timedOut.body()).contains("\"type\":\"RequestTimeoutError\"").contains("--max-concurrent");
            assertThat(fleet.router().admission().queued()).isZero();

            fleet.worker(0).faults().hang(false);
            assertThat(first.get().statusCode()).isEqualTo(200);
            assertThat(chats(fleet)).as("the timed-out request never reached a worker").isEqualTo(1);
        }
    }

    @Test
    void aWaitingRequestWhoseClientLeftIsDroppedFromTheQueue() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--max-concurrent-requests", "1", "--queue-size", "4")) {
            fleet.worker(0).faults().hang(true);
            CompletableFuture<HttpResponse<String>> first = postAsync(fleet, CHAT);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.worker(0).inFlight() == 1);
            try (Socket client = new Socket("127.0.0.1", fleet.router().port())) {
                client.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + CHAT.length() + "\r\n\r\n" + CHAT)
                        .getBytes(StandardCharsets.US_ASCII));
                client.getOutputStream().flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().admission().queued() == 1);
            } // the client leaves while it waits
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().admission().queued() == 0);

            fleet.worker(0).faults().hang(false);
            assertThat(first.get().statusCode()).isEqualTo(200);
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
            assertThat(chats(fleet)).as("the request whose client left never ran").isEqualTo(2);
        }
    }

    @Test
    void badInputIsRefusedWithoutWaitingForASlot() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--max-concurrent-requests", "1", "--queue-size", "4")) {
            fleet.worker(0).faults().hang(true);
            CompletableFuture<HttpResponse<String>> first = postAsync(fleet, CHAT);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.worker(0).inFlight() == 1);
            assertThat(fleet.post("/v1/chat/completions", "{not json").statusCode()).isEqualTo(400);
            // probes are never queued; the model list asks every server, so it waits for a slot like generation
            assertThat(fleet.get("/readiness").statusCode()).isEqualTo(200);
            CompletableFuture<HttpResponse<String>> models = fleet.http().sendAsync(
                    HttpRequest.newBuilder(URI.create(fleet.url("/v1/models"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().admission().queued() == 1);
            fleet.worker(0).faults().hang(false);
            assertThat(first.get().statusCode()).isEqualTo(200);
            assertThat(models.get().statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aDrainRefusesNewWorkAndLetsRunningStreamsFinish() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--shutdown-grace-period-secs", "120");
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            fleet.worker(0).faults().hang(true);
            HttpRequest streamed = HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"stream\":true,"
                            + "\"max_tokens\":5,\"prompt\":\"p\"}")).build();
            CompletableFuture<HttpResponse<String>> running = fleet.http().sendAsync(streamed,
                    HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.worker(0).inFlight() == 1);

            Future<?> shutdown = pool.submit(() -> fleet.router().shutdown());
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().drain().draining());
            assertThat(fleet.get("/readiness").statusCode()).isEqualTo(503);
            assertThat(fleet.get("/health").statusCode()).as("a liveness probe must not cut the drain short")
                    .isEqualTo(200);
            assertThat(fleet.get("/liveness").statusCode()).isEqualTo(200);
            HttpResponse<String> refused = fleet.post("/v1/chat/completions", CHAT);
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.body()).contains("shutting down");
            assertThat(shutdown.isDone()).as("the drain waits for the running stream").isFalse();

            fleet.worker(0).faults().hang(false);
            HttpResponse<String> finished = running.get();
            assertThat(finished.statusCode()).isEqualTo(200);
            assertThat(finished.body()).endsWith("data: [DONE]\n\n");
            shutdown.get();
            fleet.awaitRouterIdle();
        }
    }

    @Test
    void aDrainEndsAfterTheGracePeriodEvenIfAStreamStillRuns() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--shutdown-grace-period-secs", "1")) {
            fleet.worker(0).faults().hang(true);
            CompletableFuture<HttpResponse<String>> running = postAsync(fleet, CHAT);
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.worker(0).inFlight() == 1);
            assertThat(fleet.router().shutdown()).as("returns once the grace period is over, the request still running")
                    .isEqualTo(1);
            // the cut request ends: an error status or a broken connection, never a hang
            await().atMost(Duration.ofSeconds(30)).until(running::isDone);
        }
    }

    /** Chat requests that reached the worker (the router's own probes excluded). */
    private static long chats(Fleet fleet) {
        return fleet.worker(0).log().requests().stream().filter(r -> r.path().equals("/v1/chat/completions")).count();
    }

    private static HttpRequest streamRequest(Fleet fleet) {
        return HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(SLOW_STREAM)).build();
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(Fleet fleet, String json) {
        return fleet.http().sendAsync(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
