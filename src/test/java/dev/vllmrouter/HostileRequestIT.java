package dev.vllmrouter;

import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.testing.RouterProcess;
import dev.vllmrouter.testing.WireClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Hostile clients, the request side (issue 12): bodies that would exhaust the heap, clients that hang up
 * mid-request, error bodies that would tell a client the fleet's addresses, and routes that would skip admission.
 * The connection side (descriptor exhaustion, slow clients, TLS) is {@code HostileClientIT}'s.
 */
class HostileRequestIT {
    private static final String KEY = "sk-hostile-test";
    private static final int MIB = 1 << 20;

    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private final Logger root = Logger.getLogger("");

    @BeforeEach
    void captureLogs() {
        root.addHandler(capture);
    }

    @AfterEach
    void stopCapturing() {
        root.removeHandler(capture);
    }

    // ---- item 2: bodies and the heap ------------------------------------------------------------------------------

    @Test
    void largeBodiesCannotExhaustACappedHeap() throws Exception {
        try (SimWorker worker = SimWorker.start(SimConfig.builder().workerId("sim-0").maxPayloadBytes(64 * MIB)
                .build());
             RouterProcess router = RouterProcess.startWithJvmOptions(
                     List.of("-Xmx128m", "-XX:+ExitOnOutOfMemoryError"), Map.of(), "--host", "127.0.0.1", "--port", "0", "--prometheus-port", "0", "--client-api-keys", KEY,
                     "--worker-urls", worker.url())) {
            int port = router.awaitListening();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                // keyless: probes never read a body, other routes refuse before reading it
                List<Future<WireClient.Response>> keyless = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    keyless.add(pool.submit(() -> post(port, "/health_generate", null, 48 * MIB)));
                    keyless.add(pool.submit(() -> post(port, "/v1/chat/completions", null, 48 * MIB)));
                }
                for (int i = 0; i < keyless.size(); i++) {
                    WireClient.Response r = keyless.get(i).get();
                    assertThat(r.status()).as("keyless request %d", i).isEqualTo(i % 2 == 0 ? 404 : 401);
                    assertThat(r.hasToken("connection", "close")).as("the unread body is not drained").isTrue();
                }
                assertThat(router.isAlive()).as(router.output()).isTrue();

                // authenticated: more bodies at once than a quarter of the heap holds
                List<Future<WireClient.Response>> large = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    large.add(pool.submit(() -> post(port, "/v1/completions", KEY, 24 * MIB)));
                }
                int served = 0;
                for (Future<WireClient.Response> f : large) {
                    WireClient.Response r = f.get();
                    assertThat(r.status()).as(r.bodyText()).isIn(200, 503);
                    if (r.status() == 503) {
                        assertThat(r.header("retry-after")).isEqualTo("1");
                        assertThat(r.bodyText()).contains("ServiceUnavailableError", "request bodies");
                    } else {
                        served++;
                    }
                }
                assertThat(served).as("the first body always fits").isPositive();
            }
            assertThat(router.isAlive()).as(router.output()).isTrue();
            try (WireClient c = WireClient.connect(port)) {
                String body = "{\"model\":\"demo\",\"prompt\":\"hi\",\"max_tokens\":2}";
                WireClient.Response r = c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                        + KEY + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n"
                        + body).read();
                assertThat(r.status()).as("still serving").isEqualTo(200);
            }
            assertThat(router.output()).doesNotContain("OutOfMemoryError");
        }
    }

    /**
     * POSTs a JSON body of about {@code bytes} ({@code {"model":"demo","prompt":"hi","max_tokens":1,"pad":[...]}},
     * 1 MiB strings) from another thread while this one reads the answer, as a client that does not wait for
     * {@code 100 Continue} does. A write failure (the router refused and closed) ends the upload.
     */
    private static WireClient.Response post(int port, String path, String key, int bytes) {
        byte[] piece = new byte[MIB];
        Arrays.fill(piece, (byte) 'x');
        byte[] open = "{\"model\":\"demo\",\"prompt\":\"hi\",\"max_tokens\":1,\"pad\":["
                .getBytes(StandardCharsets.UTF_8);
        int pieces = bytes / (MIB + 3);
        long length = open.length + (long) pieces * (MIB + 3) - 1 + 2;
        String head = "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + (key == null ? "" : "Authorization: Bearer " + key + "\r\n") + "Content-Length: " + length
                + "\r\n\r\n";
        try (WireClient c = WireClient.connect(port)) {
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    c.send(head);
                    c.send(open);
                    for (int i = 0; i < pieces; i++) {
                        c.send(i == 0 ? "\"" : ",\"");
                        c.send(piece);
                        c.send("\"");
                    }
                    c.send("]}");
                } catch (UncheckedIOException refused) {
                    // the router answered without reading the rest and closed
                }
            });
            WireClient.Response r = c.read();
            c.socket().close();
            writer.join();
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- item 9: logs a client or a dependency can flood ----------------------------------------------------------

    @Test
    void clientsHangingUpMidBodyLogNoStackTrace() throws Exception {
        Logger requests = Logger.getLogger("dev.vllmrouter.requests");
        requests.setLevel(Level.INFO);
        try (Fleet fleet = Fleet.start(1, "--request-log")) {
            int port = port(fleet);
            for (int i = 0; i < 3; i++) {
                hangUpMidBody(port, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        + "\r\nContent-Length: 1000\r\n\r\n{\"model\":");
                hangUpMidBody(port, "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n10\r\nabc");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> requestLines().size() >= 6);
            assertThat(requestLines()).allSatisfy(r -> assertThat(r.getMessage()).contains("status=499"));
            assertThat(records).as("no stack trace, no warning for a client that left")
                    .noneMatch(r -> r.getThrown() != null)
                    .noneMatch(r -> r.getLevel().intValue() >= Level.WARNING.intValue());
        }
    }

    private List<LogRecord> requestLines() {
        return records.stream().filter(r -> "dev.vllmrouter.requests".equals(r.getLoggerName())).toList();
    }

    /** Sends {@code partial} and resets the connection (SO_LINGER 0), as a client killed mid-upload does. */
    private static void hangUpMidBody(int port, String partial) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoLinger(true, 0);
            s.getOutputStream().write(partial.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
        }
    }

    @Test
    void aDownValidationServiceIsLoggedOncePerMinuteNotPerRequest() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        try (Fleet fleet = Fleet.start(1, "--api-key-validation-urls", "http://127.0.0.1:" + closed + "/check")) {
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                        .header("Authorization", "Bearer key-" + i).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"hi\"}")).build());
                assertThat(r.statusCode()).isEqualTo(401);
            }
            List<LogRecord> outages = records.stream()
                    .filter(r -> "dev.vllmrouter.auth.KeyValidator".equals(r.getLoggerName())).toList();
            assertThat(outages).hasSize(1);
            assertThat(outages.getFirst().getMessage()).contains(":" + closed, "unreachable");
        }
    }

    // ---- item 10: what an error body tells ------------------------------------------------------------------------

    @Test
    void errorsAboutWorkersNameNeitherTheWorkerNorTheException() {
        try (Fleet fleet = Fleet.start(1, "--read-timeout-secs", "1", "--retry-max-retries", "1")) {
            String worker = fleet.worker(0).url();
            String port = worker.substring(worker.lastIndexOf(':') + 1);

            fleet.worker(0).faults().hang(true);
            HttpResponse<String> timeout = fleet.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"hi\"}");
            assertThat(timeout.statusCode()).isEqualTo(504);
            assertGeneric(timeout, "GatewayTimeoutError", port);
            fleet.worker(0).faults().hang(false);

            fleet.worker(0).faults().dieMidStream(2);
            HttpResponse<String> cut = fleet.post("/v1/completions",
                    "{\"model\":\"demo\",\"prompt\":\"hi\",\"stream\":true,\"max_tokens\":20}");
            assertThat(cut.statusCode()).isEqualTo(200);
            String last = cut.body().substring(cut.body().lastIndexOf("data: {"));
            assertThat(last).contains("BadGatewayError", cut.headers().firstValue("x-request-id").orElseThrow())
                    .doesNotContain(port, "127.0.0.1", "http", "Exception");
            fleet.worker(0).faults().reset();

            fleet.worker(0).close(); // refuses connections from now on
            HttpResponse<String> refused = fleet.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"hi\"}");
            assertThat(refused.statusCode()).isEqualTo(502);
            assertGeneric(refused, "BadGatewayError", port);
            String id = refused.headers().firstValue("x-request-id").orElseThrow();
            assertThat(records).as("the log has the detail")
                    .anyMatch(r -> r.getMessage().contains(id) && r.getMessage().contains(":" + port));
        }
    }

    private static void assertGeneric(HttpResponse<String> r, String type, String workerPort) {
        assertThat(r.body()).contains("\"type\":\"" + type + "\"",
                r.headers().firstValue("x-request-id").orElseThrow());
        assertThat(r.body()).doesNotContain(":" + workerPort, "127.0.0.1", "http", "Exception", "java.");
    }

    // ---- item 12: admission for every route that reaches a worker -------------------------------------------------

    @Test
    void fallbackRoutesAndTheModelListCountAgainstTheLimit() {
        try (Fleet fleet = Fleet.start(1, "--max-concurrent-requests", "1", "--queue-size", "0")) {
            fleet.worker(0).faults().hang(true);
            CompletableFuture<HttpResponse<String>> holder = fleet.http().sendAsync(
                    HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"hi\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.routerInFlight() == 1);

            HttpResponse<String> audio = fleet.send(HttpRequest.newBuilder(
                            URI.create(fleet.url("/v1/audio/transcriptions")))
                    .timeout(Duration.ofSeconds(10))
                    .header("Content-Type", "multipart/form-data; boundary=b")
                    .POST(HttpRequest.BodyPublishers.ofString("--b\r\nContent-Disposition: form-data; name=\"model\""
                            + "\r\n\r\ndemo\r\n--b--\r\n")).build());
            assertThat(audio.statusCode()).as(audio.body()).isEqualTo(429);
            assertThat(audio.headers().firstValue("retry-after")).isPresent();
            HttpResponse<String> other = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/version")))
                    .timeout(Duration.ofSeconds(10)).build());
            assertThat(other.statusCode()).isEqualTo(429);
            assertThat(fleet.get("/v1/models").statusCode()).isEqualTo(429);
            // probes are exempt: they must answer while the router is at its limit
            assertThat(fleet.get("/health").statusCode()).isEqualTo(200);
            assertThat(fleet.get("/ping").statusCode()).isEqualTo(200);

            fleet.worker(0).faults().hang(false);
            assertThat(holder.join().statusCode()).isEqualTo(200);
            assertThat(fleet.get("/v1/models").statusCode()).isEqualTo(200);
        }
    }

    private static int port(Fleet fleet) {
        String url = fleet.url("");
        return Integer.parseInt(url.substring(url.lastIndexOf(':') + 1));
    }
}
