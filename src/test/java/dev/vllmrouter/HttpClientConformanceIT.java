package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.testing.WireClient;
import dev.vllmrouter.testing.WireWorker;

/**
 * HTTP conformance of the router's client side (the server clients talk to), one case per rule of RFC 9110 / 9112
 * (and RFC 3986 for targets), each named after the section it checks: raw-socket clients write exact bytes and read
 * exact bytes, in front of a simulated vLLM worker ({@link Fleet}) or a scripted one that keeps the wire bytes
 * ({@link WireWorker}). docs/reliability.md ("HTTP conformance: client side") lists the same cases.
 */
class HttpClientConformanceIT {
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    private static Fleet fleet;
    private static WireWorker wire;
    private static Fleet wired;

    @BeforeAll
    static void start() {
        fleet = Fleet.start(1, "--client-body-timeout-secs", "1");
        wire = WireWorker.start();
        wired = Fleet.withWorkers(List.of(), "--worker-urls", wire.url());
    }

    @AfterAll
    static void stop() {
        fleet.close();
        wired.close();
        wire.close();
    }

    @AfterEach
    void routerStillServes() {
        assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
        fleet.awaitRouterIdle();
        assertThat(fleet.router().admission().inFlight()).isZero();
    }

    // ---- Connection management (RFC 9112 §9)

    @Test
    void rfc9112_9_6_connectionCloseIsHonoured() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send(post("/v1/chat/completions", "Connection: close\r\n", CHAT)).read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.hasToken("Connection", "close")).isTrue();
            assertThat(c.closedByPeer()).as("the router closes after the answer to a request with close").isTrue();
        }
    }

    @Test
    void rfc9110_7_6_1_connectionOptionsAreCaseInsensitive() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send(post("/v1/chat/completions", "Connection: Keep-Alive, CLOSE\r\n", CHAT))
                    .read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.hasToken("Connection", "close")).isTrue();
            assertThat(c.closedByPeer()).isTrue();
        }
    }

    @Test
    void rfc9112_9_6_theRoutersOwnConnectionCloseClosesAndTheRestOfTheBodyIsNotARequest() {
        String smuggled = post("/v1/completions", "", "{\"model\":\"demo\",\"prompt\":\"smuggled\"}");
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            c.send("POST /v1/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + (20 + smuggled.length()) + "\r\n\r\n{\"model\":\"demo\",");
            WireClient.Response r = c.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.hasToken("Connection", "close")).isTrue();
            try {
                c.send("\"prompt\":\"x\"}      " + smuggled);
            } catch (RuntimeException ignored) {
                // already closed: what the rule wants
            }
            assertThat(c.closedByPeer()).as("no second answer; got: " + c.rest()).isTrue();
        }
        assertThat(fleet.worker(0).log().requests()).noneMatch(q -> q.bodyText().contains("smuggled"));
    }

    @Test
    void rfc9112_9_3_pipelinedRequestsAreAnsweredInOrder() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            c.send("GET /liveness HTTP/1.1\r\nHost: r\r\n\r\n" + post("/v1/chat/completions", "", CHAT)
                    + "GET /readiness HTTP/1.1\r\nHost: r\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(200);
            WireClient.Response chat = c.read();
            assertThat(chat.status()).isEqualTo(200);
            assertThat(chat.bodyText()).contains("chat.completion");
            assertThat(c.read().status()).isEqualTo(200);
        }
    }

    // ---- Field syntax (RFC 9112 §5)

    @Test
    void rfc9112_5_1_whitespaceBeforeTheColonIs400AndCloses() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nContent-Length : " + CHAT.length() + "\r\n\r\n" + CHAT)
                    .read();
            assertThat(r.status()).isEqualTo(400);
            assertClosedWithJsonError(c, r);
        }
    }

    @Test
    void rfc9112_5_2_obsoleteLineFoldingIs400AndCloses() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nX-Folded: a\r\n b\r\nContent-Length: " + CHAT.length()
                    + "\r\n\r\n" + CHAT).read();
            assertThat(r.status()).isEqualTo(400);
            assertClosedWithJsonError(c, r);
        }
    }

    // ---- Expectations (RFC 9110 §10.1.1)

    @Test
    void rfc9110_10_1_1_expect100ContinueIsAnsweredBeforeTheBodyIsSent() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
                    + "Expect: 100-continue\r\nContent-Length: " + CHAT.length() + "\r\n\r\n");
            assertThat(c.readHead().status()).isEqualTo(100);
            WireClient.Response r = c.send(CHAT).read();
            assertThat(r.status()).isEqualTo(200);
            assertServesTheNextRequest(c);
        }
    }

    // ---- Message body framing (RFC 9112 §6)

    @Test
    void rfc9112_6_1_chunkedIsCaseInsensitive() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: Chunked\r\n\r\n" + chunk(CHAT)
                    + "0\r\n\r\n").read();
            assertThat(r.status()).as(r.bodyText()).isEqualTo(200);
            assertThat(r.bodyText()).contains("chat.completion");
            assertServesTheNextRequest(c);
        }
    }

    @Test
    void rfc9112_6_1_anUnknownTransferCodingIs501AndCloses() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + chunk(CHAT)
                    + "0\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(501);
            assertClosedWithJsonError(c, r);
        }
    }

    @Test
    void rfc9112_6_3_chunkedThatIsNotTheFinalCodingIs400AndCloses() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + chunk(CHAT)
                    + "0\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(400);
            assertClosedWithJsonError(c, r);
        }
    }

    @Test
    void rfc9112_6_3_contentLengthWithChunkedIs400AndCloses() {
        String body = "{\"model\":\"demo\",\"prompt\":\"cut-or-not\"}";
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/some/passthrough HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + chunk(body) + "0\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(400);
            assertClosedWithJsonError(c, r);
        }
        assertThat(workerRequests("/v1/some/passthrough")).as("nothing was forwarded").isEmpty();
    }

    @Test
    void rfc9112_6_3_differentContentLengthsAre400AndClose() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + CHAT.length() + "\r\nContent-Length: "
                    + (CHAT.length() + 4) + "\r\n\r\n" + CHAT + "    ").read();
            assertThat(r.status()).isEqualTo(400);
            assertClosedWithJsonError(c, r);
        }
    }

    @Test
    void rfc9112_6_3_aContentLengthThatIsNotDigitsIs400AndCloses() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nContent-Length: +" + CHAT.length() + "\r\n\r\n" + CHAT).read();
            assertThat(r.status()).isEqualTo(400);
            assertClosedWithJsonError(c, r);
        }
    }

    @Test
    void rfc9110_8_6_aRepeatedEqualContentLengthIsOneLength() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + CHAT.length() + ", " + CHAT.length()
                    + "\r\n\r\n" + CHAT).read();
            assertThat(r.status()).as(r.bodyText()).isEqualTo(200);
            assertServesTheNextRequest(c);
        }
    }

    // ---- Versions (RFC 9112 §2.3, RFC 9110 §15.6.6)

    @Test
    void rfc9110_15_6_6_anHttp10RequestGets505WithABody() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send("GET /health HTTP/1.0\r\nHost: r\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(505);
            assertThat(r.bodyText()).contains("HTTP/1.1");
            assertClosedWithJsonError(c, r);
        }
    }

    // ---- Request target (RFC 9112 §3.2, RFC 3986 §5.2.4)

    @Test
    void rfc9112_3_2_2_anAbsoluteFormTargetIsRoutedAndForwardedAsOriginForm() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send(post("http://127.0.0.1:" + fleet.router().port()
                    + "/v1/chat/completions?absolute=1", "", CHAT)).read();
            assertThat(r.status()).as(r.bodyText()).isEqualTo(200);
            assertThat(r.bodyText()).contains("chat.completion");
        }
        RecordedRequest seen = workerRequests("/v1/chat/completions").stream()
                .filter(q -> q.rawQuery().equals("absolute=1")).findFirst().orElseThrow();
        assertThat(seen.path()).isEqualTo("/v1/chat/completions");
    }

    @Test
    void rfc3986_5_2_4_dotSegmentsAreRemovedFromWhatIsRoutedAndWhatIsForwarded() {
        try (WireClient c = WireClient.connect(fleet.router().port())) {
            WireClient.Response r = c.send(post("/x/../v1/chat/./completions?dots=1", "", CHAT)).read();
            assertThat(r.status()).as(r.bodyText()).isEqualTo(200);
            assertThat(r.bodyText()).contains("chat.completion");
        }
        RecordedRequest seen = workerRequests("/v1/chat/completions").stream()
                .filter(q -> q.rawQuery().equals("dots=1")).findFirst().orElseThrow();
        assertThat(seen.path()).isEqualTo("/v1/chat/completions");
    }

    // ---- Bytes pass through unchanged (RFC 9110 §5.5 obs-text; RFC 9112 §3.2)

    @Test
    void rfc9110_5_5_obsTextInARequestHeaderReachesTheWorkerUnchanged() {
        byte[] value = {'c', 'a', 'f', (byte) 0xC3, (byte) 0xA9, ' ', (byte) 0xFF};
        int before = wire.requests().size();
        try (WireClient c = WireClient.connect(wired.router().port())) {
            ByteArrayOutputStream req = new ByteArrayOutputStream();
            req.writeBytes("GET /v1/obs-text HTTP/1.1\r\nHost: r\r\nX-Note: ".getBytes(StandardCharsets.ISO_8859_1));
            req.writeBytes(value);
            req.writeBytes("\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(c.send(req.toByteArray()).read().status()).isEqualTo(200);
        }
        assertThat(wire.awaitRequest(before + 1).headerBytes("X-Note")).isEqualTo(value);
    }

    @Test
    void rfc9110_5_5_obsTextInAWorkerHeaderReachesTheClientUnchanged() {
        byte[] value = {'c', 'a', 'f', (byte) 0xC3, (byte) 0xA9, ' ', (byte) 0xFF};
        wire.answer(r -> {
            ByteArrayOutputStream a = new ByteArrayOutputStream();
            a.writeBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Note: "
                    .getBytes(StandardCharsets.ISO_8859_1));
            a.writeBytes(value);
            a.writeBytes("\r\nContent-Length: 2\r\n\r\n{}".getBytes(StandardCharsets.ISO_8859_1));
            return a.toByteArray();
        });
        try (WireClient c = WireClient.connect(wired.router().port())) {
            WireClient.Response r = c.send("GET /v1/obs-text-back HTTP/1.1\r\nHost: r\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("X-Note").getBytes(StandardCharsets.ISO_8859_1)).isEqualTo(value);
        } finally {
            wire.answer(r -> WireWorker.json("{\"ok\":true}"));
        }
    }

    @Test
    void rfc9112_3_2_rawUtf8InTheTargetReachesTheWorkerUnchanged() {
        int before = wire.requests().size();
        try (WireClient c = WireClient.connect(wired.router().port())) {
            ByteArrayOutputStream req = new ByteArrayOutputStream();
            req.writeBytes("GET /v1/files/caf".getBytes(StandardCharsets.ISO_8859_1));
            req.writeBytes(new byte[] {(byte) 0xC3, (byte) 0xA9});
            req.writeBytes("?q=%20".getBytes(StandardCharsets.ISO_8859_1));
            req.writeBytes(new byte[] {(byte) 0xE2, (byte) 0x82, (byte) 0xAC});
            req.writeBytes(" HTTP/1.1\r\nHost: r\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(c.send(req.toByteArray()).read().status()).isEqualTo(200);
        }
        byte[] target = wire.awaitRequest(before + 1).target().getBytes(StandardCharsets.ISO_8859_1);
        assertThat(new String(target, StandardCharsets.UTF_8)).isEqualTo("/v1/files/café?q=%20€");
    }

    // ---- Clients that leave or stop reading (the router's own rules: a request lives no longer than its client,
    // and no longer than --request-timeout-secs)

    @Test
    void aClientThatLeavesANonStreamedRequestAbortsItsWorkerCallLongBeforeTheReadTimeout() {
        try (Fleet f = Fleet.start(1, "--read-timeout-secs", "600")) {
            f.worker(0).faults().hang(true);
            try (WireClient c = WireClient.connect(f.router().port())) {
                c.send(post("/v1/chat/completions", "", CHAT));
                f.worker(0).log().awaitRequest(q -> q.path().equals("/v1/chat/completions"), Duration.ofSeconds(10));
                assertThat(f.routerInFlight()).isEqualTo(1);
                assertThat(f.router().admission().inFlight()).isEqualTo(1);
            }
            f.worker(0).log().awaitDisconnects(1, Duration.ofSeconds(10));
            f.awaitRouterIdle();
            await().atMost(Duration.ofSeconds(10)).until(() -> f.router().admission().inFlight() == 0);
            await().atMost(Duration.ofSeconds(10)).until(() -> f.metrics().contains("error_type=\"client_closed\""));
            f.worker(0).faults().hang(false);
            assertThat(f.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aConnectionWatchedWhileItsRequestWaitedLongCarriesItsNextRequests() {
        // the worker takes 1.5 s to its first byte: past the 1 s after which the router watches the client for a
        // hang-up by reading its socket ahead; that read must hand the next request's bytes to the connection
        try (Fleet f = Fleet.start(1, sim -> sim.ttft(Duration.ofMillis(1500)));
             WireClient c = WireClient.connect(f.router().port())) {
            for (int i = 0; i < 2; i++) {
                WireClient.Response r = c.send(post("/v1/chat/completions", "", CHAT)).read();
                assertThat(r.status()).as("request %d on the connection", i).isEqualTo(200);
                assertThat(r.bodyText()).contains("chat.completion");
            }
            // pipelined: the second request is already there while the first waits
            c.send(post("/v1/chat/completions", "", CHAT) + post("/v1/completions", "",
                    "{\"model\":\"demo\",\"prompt\":\"p\",\"max_tokens\":2}"));
            assertThat(c.read().bodyText()).contains("chat.completion");
            assertThat(c.read().bodyText()).contains("text_completion");
            assertThat(f.worker(0).log().requests().stream().filter(q -> q.path().startsWith("/v1/c"))).hasSize(4);
        }
    }

    @Test
    void aClientThatStopsReadingAStreamIsCutByTheWriteTimeoutAndFreesItsSlot() {
        try (Fleet f = Fleet.start(1, "--max-concurrent-requests", "1", "--client-write-timeout-secs", "1",
                "--queue-timeout-secs", "30")) {
            assertAStalledReaderFreesTheOnlySlot(f);
        }
    }

    @Test
    void theTotalDeadlineHoldsForAClientThatStopsReading() {
        try (Fleet f = Fleet.start(1, "--max-concurrent-requests", "1", "--request-timeout-secs", "3",
                "--queue-timeout-secs", "30")) {
            assertAStalledReaderFreesTheOnlySlot(f);
        }
    }

    /**
     * A client opens a stream that never ends and stops reading (a small receive window, so the router's writes soon
     * block); another client waits in the queue for the only slot and must get its answer.
     */
    private static void assertAStalledReaderFreesTheOnlySlot(Fleet f) {
        try (WireClient stalled = WireClient.connectSmallWindow(f.router().port(), 4096)) {
            stalled.send(post("/v1/completions", "", "{\"model\":\"demo\",\"stream\":true,"
                    + "\"max_tokens\":100000000,\"prompt\":\"long\"}"));
            assertThat(stalled.readHead().status()).isEqualTo(200);
            HttpResponse<String> other = f.post("/v1/chat/completions", CHAT);
            assertThat(other.statusCode()).as(other.body()).isEqualTo(200);
        }
        f.awaitRouterIdle();
        await().atMost(Duration.ofSeconds(10)).until(() -> f.router().admission().inFlight() == 0);
        f.worker(0).log().awaitDisconnects(1, Duration.ofSeconds(10));
    }

    // ---- helpers

    /** The connection stays open and in step: the next request on it gets its own answer. */
    private static void assertServesTheNextRequest(WireClient c) {
        WireClient.Response next = c.send("GET /liveness HTTP/1.1\r\nHost: r\r\n\r\n").read();
        assertThat(next.status()).isEqualTo(200);
        assertThat(next.bodyText()).isEqualTo("OK");
    }

    private static void assertClosedWithJsonError(WireClient c, WireClient.Response r) {
        assertThat(r.header("Content-Type")).startsWith("application/json");
        assertThat(r.bodyText()).contains("\"error\"");
        assertThat(r.hasToken("Connection", "close")).isTrue();
        assertThat(c.closedByPeer()).as("the connection is closed after an answer that says close").isTrue();
    }

    private static List<RecordedRequest> workerRequests(String path) {
        return fleet.worker(0).log().requests().stream().filter(q -> q.path().equals(path)).toList();
    }

    static String post(String target, String extraHeaders, String json) {
        return "POST " + target + " HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n" + extraHeaders
                + "Content-Length: " + json.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + json;
    }

    static String chunk(String data) {
        return Integer.toHexString(data.getBytes(StandardCharsets.UTF_8).length) + "\r\n" + data + "\r\n";
    }
}
