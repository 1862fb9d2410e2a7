package dev.vllmrouter.upstream;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.testing.ScriptedWorker;

import static dev.vllmrouter.testing.ScriptedWorker.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The worker side of HTTP conformance: the router's client against scripted workers that answer exact bytes. Each
 * case is named after the rule it checks (RFC 9112: HTTP/1.1 messages; RFC 9110: semantics) and is listed in
 * docs/reliability.md ("HTTP conformance: worker side").
 */
class UpstreamConformanceTest {
    private final UpstreamClient client = new UpstreamClient(Duration.ofSeconds(2), Duration.ofSeconds(5));
    private final List<ScriptedWorker> workers = new ArrayList<>();

    @AfterEach
    void close() throws IOException {
        client.close();
        for (ScriptedWorker w : workers) {
            w.close();
        }
    }

    private String worker(ScriptedWorker.Script script) throws IOException {
        ScriptedWorker w = ScriptedWorker.startBare(script);
        workers.add(w);
        return w.url();
    }

    private UpstreamResponse send(String base, String method, String target) {
        return client.send("w", method, base, target, h -> { }, method.equals("POST") ? new byte[] {'{', '}'} : null,
                null);
    }

    private static String body(UpstreamResponse r) throws IOException {
        return new String(r.body().readAllBytes(), StandardCharsets.ISO_8859_1);
    }

    /** Sends GET {@code /next}, which every worker here answers with "next" unless the script says otherwise. */
    private String next(String base) throws IOException {
        try (UpstreamResponse r = send(base, "GET", "/next")) {
            return r.status() + " " + body(r);
        }
    }

    private static boolean answerNext(ScriptedWorker.Request r, OutputStream out) throws IOException {
        write(out, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
        return true;
    }

    // ---- RFC 9112 §6.3: which responses have a body

    @Test
    void rfc9112_6_3_headResponseHasNoBody() throws Exception {
        String base = worker((r, out) -> {
            if (r.method().equals("HEAD")) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1234\r\n\r\n");
                return true;
            }
            return answerNext(r, out);
        });
        try (UpstreamResponse r = send(base, "HEAD", "/v1/models")) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyLength()).as("no body, whatever Content-Length says").isZero();
            assertThat(r.headers().first("Content-Length")).isEqualTo("1234");
            assertThat(body(r)).isEmpty();
        }
        assertThat(next(base)).as("the connection was not misread").isEqualTo("200 next");
        assertThat(workers.get(0).connections()).as("and it was reused").isEqualTo(1);
    }

    @Test
    void rfc9112_6_3_responsesTo204And304HaveNoBodyWhateverTheirHeaders() throws Exception {
        String base = worker((r, out) -> {
            switch (r.target()) {
                case "/304" -> write(out, "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n");
                case "/204" -> write(out, "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n");
                default -> answerNext(r, out);
            }
            return true;
        });
        for (String target : List.of("/304", "/204")) {
            try (UpstreamResponse r = send(base, "GET", target)) {
                assertThat(r.bodyLength()).as(target).isZero();
                assertThat(body(r)).as(target).isEmpty();
            }
            assertThat(next(base)).as("after " + target).isEqualTo("200 next");
        }
        assertThat(workers.get(0).connections()).isEqualTo(1);
    }

    @Test
    void rfc9110_15_2_interimResponsesAreSkipped() throws Exception {
        String base = worker((r, out) -> {
            write(out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
                    + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
            return true;
        });
        try (UpstreamResponse r = send(base, "GET", "/")) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers().first("Link")).as("interim headers are not the final ones").isNull();
            assertThat(body(r)).isEqualTo("final");
        }
    }

    @Test
    void rfc9110_15_2_2_aSwitchNobodyAskedForIsAnError() throws Exception {
        String base = worker((r, out) -> {
            write(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
            return true;
        });
        assertIoFailure(() -> send(base, "GET", "/"));
    }

    @Test
    void rfc9112_4_malformedStatusLinesAreErrors() throws Exception {
        for (String line : List.of("HTTP/1.1 20 OK", "HTTP/2 200 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 099 Low",
                "HTTP/1.1 600 High", "HTTP/1.1 +20 OK", "ICY 200 OK")) {
            String base = worker((r, out) -> {
                write(out, line + "\r\nContent-Length: 0\r\n\r\n");
                return true;
            });
            assertIoFailure(() -> send(base, "GET", "/"));
        }
    }

    // ---- RFC 9112 §6.3: ambiguous framing is an error, and the connection is not used again

    @Test
    void rfc9112_6_3_contentLengthWithTransferEncodingIsAnError() throws Exception {
        String base = worker((r, out) -> {
            if (r.target().equals("/both")) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "3\r\nabc\r\n0\r\n\r\n");
                return true;
            }
            return answerNext(r, out);
        });
        assertIoFailure(() -> send(base, "GET", "/both"));
        assertThat(next(base)).isEqualTo("200 next");
        assertThat(workers.get(0).connections()).as("the connection of the bad answer is closed").isEqualTo(2);
    }

    @Test
    void rfc9112_6_3_differingContentLengthsAreAnErrorAndEqualOnesAreOne() throws Exception {
        String base = worker((r, out) -> {
            switch (r.target()) {
                case "/two-headers" -> write(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"
                        + "abcd");
                case "/list" -> write(out, "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd");
                case "/same" -> write(out, "HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\n"
                        + "abcd");
                default -> answerNext(r, out);
            }
            return true;
        });
        assertIoFailure(() -> send(base, "GET", "/two-headers"));
        assertIoFailure(() -> send(base, "GET", "/list"));
        try (UpstreamResponse r = send(base, "GET", "/same")) {
            assertThat(body(r)).isEqualTo("abcd");
        }
    }

    @Test
    void rfc9112_6_3_aContentLengthThatIsNotDigitsIsAnError() throws Exception {
        for (String value : List.of("+4", "-1", "4x", "0x4", "4 4", "", "99999999999999999999")) {
            String base = worker((r, out) -> {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + value + "\r\n\r\nabcd");
                return true;
            });
            assertIoFailure(() -> send(base, "GET", "/"));
        }
    }

    @Test
    void rfc9112_6_1_transferEncodingInAnHttp10ResponseIsAnError() throws Exception {
        String base = worker((r, out) -> {
            write(out, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
            return false;
        });
        assertIoFailure(() -> send(base, "GET", "/"));
    }

    @Test
    void rfc9112_6_1_chunkedTwiceOrNotLastIsAnErrorAndAnotherFinalCodingRunsUntilClose() throws Exception {
        for (String te : List.of("chunked, chunked", "chunked, gzip")) {
            String base = worker((r, out) -> {
                write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + te + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
                return true;
            });
            assertIoFailure(() -> send(base, "GET", "/"));
        }
        String untilClose = worker((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nraw bytes");
            return false;
        });
        try (UpstreamResponse r = send(untilClose, "GET", "/")) {
            assertThat(r.bodyLength()).isEqualTo(-1);
            assertThat(body(r)).isEqualTo("raw bytes");
        }
    }

    // ---- RFC 9112 §6.3 / §9.3: bytes after an answer are never served as the next one

    @Test
    void rfc9112_6_3_bytesAfterAnAnswerAreNeverReadAsTheNextAnswer() throws Exception {
        CountDownLatch firstRead = new CountDownLatch(1);
        CountDownLatch strayWritten = new CountDownLatch(1);
        String base = worker((r, out) -> {
            switch (r.target()) {
                case "/same-packet" -> write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray");
                case "/after-204" -> write(out, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n"
                        + "Content-Length: 5\r\n\r\nstray");
                case "/later" -> {
                    write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    await(firstRead);
                    write(out, "\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"); // a stray CRLF, then more
                    strayWritten.countDown();
                }
                default -> answerNext(r, out);
            }
            return true;
        });
        for (String target : List.of("/same-packet", "/after-204", "/later")) {
            try (UpstreamResponse r = send(base, "GET", target)) {
                body(r);
            }
            if (target.equals("/later")) {
                firstRead.countDown();
                await(strayWritten);
                // delivery is asynchronous: wait until the stray bytes are in the idle connection's socket
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> client.waitingOnIdle(base) > 0);
            }
            assertThat(next(base)).as("the request after " + target).isEqualTo("200 next");
        }
        assertThat(workers.get(0).connections()).as("each connection with stray bytes was dropped").isEqualTo(4);
    }

    // ---- RFC 9110 §9.2.2: resending

    @Test
    void rfc9110_9_2_2_aConnectionTheWorkerClosedWhileIdleIsNeverWrittenTo() throws Exception {
        String base = worker((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            return false; // answers, then closes (keep-alive timeout): the FIN arrives while the connection idles
        });
        for (int i = 0; i < 3; i++) {
            try (UpstreamResponse r = send(base, "POST", "/create")) {
                assertThat(body(r)).isEqualTo("ok");
            }
            // the worker's FIN arrives asynchronously: the case is a request sent after it did
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> client.idleStillClean(base) == 0);
        }
        assertThat(workers.get(0).count("POST", "/create")).as("each POST reached the worker once").isEqualTo(3);
        assertThat(workers.get(0).connections()).isEqualTo(3);
    }

    @Test
    void rfc9110_9_2_2_aPostTheWorkerReadAndDroppedIsNotResent() throws Exception {
        CountDownLatch warm = new CountDownLatch(6);
        String base = worker((r, out) -> {
            if (r.method().equals("POST")) {
                return false; // read it, then drop the connection without an answer
            }
            return answerWarm(warm, r, out);
        });
        warm(base, warm);
        assertThatThrownBy(() -> send(base, "POST", "/v1/files"))
                .isInstanceOfSatisfying(UpstreamException.class,
                        e -> assertThat(e.kind()).isEqualTo(UpstreamException.Kind.IO));
        assertThat(workers.get(0).count("POST", "/v1/files")).as("the POST reached the worker once").isEqualTo(1);
    }

    @Test
    void rfc9110_9_2_2_anIdempotentRequestDroppedOnAReusedConnectionIsResentOnceOnANewOne() throws Exception {
        CountDownLatch warm = new CountDownLatch(6);
        String base = worker((r, out) -> {
            if (r.target().equals("/dropped")) {
                return false;
            }
            return answerWarm(warm, r, out);
        });
        warm(base, warm);
        assertIoFailure(() -> send(base, "GET", "/dropped"));
        assertThat(workers.get(0).count("GET", "/dropped")).as("sent, then resent once").isEqualTo(2);
    }

    /** Answers once {@code warm} counted down: the requests that count it down each hold a connection open. */
    private static boolean answerWarm(CountDownLatch warm, ScriptedWorker.Request r, OutputStream out)
            throws IOException {
        warm.countDown();
        await(warm);
        return answerNext(r, out);
    }

    /** Puts as many idle connections in the pool as {@code warm} counts: that many concurrent requests. */
    private void warm(String base, CountDownLatch warm) throws Exception {
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> calls = new ArrayList<>();
            for (long i = warm.getCount(); i > 0; i--) {
                calls.add(ex.submit(() -> next(base)));
            }
            for (Future<String> f : calls) {
                assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo("200 next");
            }
        }
    }

    // ---- RFC 9110 §5.5, RFC 9112 §5: field lines

    @Test
    void rfc9110_5_5_controlCharactersInFieldValuesAreRejected() throws Exception {
        for (String bad : List.of("a\rb", "a\u0000b", "a\u0001b", "a\u007fb")) {
            String base = worker((r, out) -> {
                write(out, "HTTP/1.1 200 OK\r\nX-Bad: " + bad + "\r\nContent-Length: 0\r\n\r\n");
                return true;
            });
            assertIoFailure(() -> send(base, "GET", "/"));
        }
    }

    @Test
    void rfc9112_5_2_anObsoleteLineFoldingContinuesTheFieldWithASpace() throws Exception {
        String base = worker((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nX-Folded: one\r\n  Set-Cookie: evil=1\r\n\ttwo\r\nContent-Length: 0\r\n\r\n");
            return true;
        });
        try (UpstreamResponse r = send(base, "GET", "/")) {
            assertThat(r.headers().first("X-Folded")).isEqualTo("one Set-Cookie: evil=1 two");
            assertThat(r.headers().first("Set-Cookie")).as("a folded line never becomes a field").isNull();
        }
    }

    @Test
    void rfc9112_5_1_whitespaceBeforeTheColonIsRemovedAndInvalidNamesAreRejected() throws Exception {
        String base = worker((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nX-Spaced : v\r\nContent-Length: 0\r\n\r\n");
            return true;
        });
        try (UpstreamResponse r = send(base, "GET", "/")) {
            assertThat(r.headers().name(0)).isEqualTo("X-Spaced");
            assertThat(r.headers().value(0)).isEqualTo("v");
        }
        for (String name : List.of("Bad Name", "Bad(Name)", "Bad\u0000Name", "Bäd")) {
            String bad = worker((r, out) -> {
                write(out, "HTTP/1.1 200 OK\r\n" + name + ": v\r\nContent-Length: 0\r\n\r\n");
                return true;
            });
            assertIoFailure(() -> send(bad, "GET", "/"));
        }
    }

    @Test
    void rfc9112_7_1_aChunkedBodyWithoutItsLastChunkIsAnError() throws Exception {
        String base = worker((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
            return false; // closes before the last chunk
        });
        try (UpstreamResponse r = send(base, "GET", "/")) {
            assertThatThrownBy(() -> r.body().readAllBytes()).isInstanceOf(IOException.class);
        }
    }

    @Test
    void rfc9112_7_1_chunkSizesAreHexDigitsOnlyAndTrailersAreBounded() throws Exception {
        for (String size : List.of("+3", "-3", "0x3", " 3")) {
            String base = worker((r, out) -> {
                write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\nabc\r\n0\r\n\r\n");
                return true;
            });
            try (UpstreamResponse r = send(base, "GET", "/")) {
                assertThatThrownBy(() -> r.body().readAllBytes()).as(size).isInstanceOf(IOException.class);
            }
        }
        String trailers = worker((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n");
            for (int i = 0; i < 2000; i++) {
                write(out, "X-Trailer-" + i + ": " + "t".repeat(64) + "\r\n");
            }
            write(out, "\r\n");
            return true;
        });
        try (UpstreamResponse r = send(trailers, "GET", "/")) {
            assertThatThrownBy(() -> r.body().readAllBytes()).isInstanceOf(IOException.class);
        }
    }

    private static void assertIoFailure(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOfSatisfying(UpstreamException.class,
                e -> assertThat(e.kind()).isEqualTo(UpstreamException.Kind.IO));
    }

    private static void await(CountDownLatch latch) throws IOException {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new IOException("latch not released");
            }
        } catch (InterruptedException e) {
            throw new IOException(e);
        }
    }
}
