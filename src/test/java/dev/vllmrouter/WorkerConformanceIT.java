package dev.vllmrouter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.testing.ScriptedWorker;

import static dev.vllmrouter.testing.ScriptedWorker.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The worker side of HTTP conformance through the whole router: scripted workers that answer exact bytes, a raw
 * socket as the client, so what the client sees on the wire is checked byte for byte. Listed in
 * docs/reliability.md ("HTTP conformance: worker side").
 */
class WorkerConformanceIT {
    private static final int MIB = 1024 * 1024;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private ScriptedWorker worker(ScriptedWorker.Script script) throws IOException {
        ScriptedWorker w = ScriptedWorker.start(script);
        closing.add(w);
        return w;
    }

    private RouterApp router(String... extra) {
        List<String> args = new ArrayList<>(List.of("--port", "0", "--prometheus-port", "0",
                "--policy", "round_robin", "--cb-failure-threshold", "3", "--health-check-interval-secs", "3600"));
        args.addAll(List.of(extra));
        RouterApp app = RouterApp.start(RouterCli.parse(Map.of(), args.toArray(String[]::new)));
        closing.add(app);
        return app;
    }

    @Test
    void rfc9112_6_3_aHeadAnswerIsNotATruncatedBodyAndKeepsTheCircuitClosed() throws Exception {
        ScriptedWorker w = worker((r, out) -> {
            if (r.method().equals("HEAD")) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1234\r\n\r\n");
            } else {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            return true;
        });
        RouterApp router = router("--worker-urls", w.url());
        try (Client c = new Client(router.port())) {
            for (int i = 0; i < 10; i++) { // more than --cb-failure-threshold
                for (String target : List.of("/no/such/path", "/v1/files/f-1")) {
                    Answer a = c.exchange("HEAD " + target + " HTTP/1.1\r\nHost: r\r\n\r\n", true);
                    assertThat(a.status).as("HEAD " + target).isEqualTo(200);
                    assertThat(a.headers.get("content-length")).as("the length a GET would have").isEqualTo("1234");
                }
            }
            // had a body been sent after a HEAD answer, it would be read here as this answer
            Answer get = c.exchange("GET /plain HTTP/1.1\r\nHost: r\r\n\r\n", false);
            assertThat(get.status).as("circuit still closed, connection in step").isEqualTo(200);
            assertThat(get.body()).isEqualTo("ok");
        }
        assertThat(router.registry().snapshot().workers().get(0).breaker().state().name()).isEqualTo("CLOSED");
    }

    @Test
    void rfc9112_6_3_a304WithContentLengthHasNoBodyAndKeepsTheCircuitClosed() throws Exception {
        ScriptedWorker w = worker((r, out) -> {
            if (r.target().equals("/cached")) {
                write(out, "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 4096\r\n\r\n");
            } else {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            return true;
        });
        RouterApp router = router("--worker-urls", w.url());
        try (Client c = new Client(router.port())) {
            for (int i = 0; i < 10; i++) {
                Answer a = c.exchange("GET /cached HTTP/1.1\r\nHost: r\r\nIf-None-Match: \"v1\"\r\n\r\n", true);
                assertThat(a.status).isEqualTo(304);
                assertThat(a.headers.get("etag")).isEqualTo("\"v1\"");
            }
            Answer get = c.exchange("GET /plain HTTP/1.1\r\nHost: r\r\n\r\n", false);
            assertThat(get.status).isEqualTo(200);
            assertThat(get.body()).isEqualTo("ok");
        }
    }

    @Test
    void rfc9112_8_aBodyTheWorkerCutReachesTheClientCut() throws Exception {
        int declared = 40 * MIB;
        int sent = 34 * MIB;
        ScriptedWorker w = worker((r, out) -> {
            if (r.target().equals("/big")) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + declared
                        + "\r\n\r\n");
                writeZeros(out, sent);
                return false; // dies 6 MiB short
            }
            if (r.target().equals("/big-chunked")) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n");
                for (int i = 0; i < 34; i++) {
                    write(out, Integer.toHexString(MIB) + "\r\n");
                    writeZeros(out, MIB);
                    write(out, "\r\n");
                }
                return false; // dies without the last chunk
            }
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            return true;
        });
        RouterApp router = router("--worker-urls", w.url());
        try (Client c = new Client(router.port())) {
            Answer a = c.exchange("GET /big HTTP/1.1\r\nHost: r\r\n\r\n", false);
            assertThat(a.status).as("the head had gone out").isEqualTo(200);
            assertThat(a.complete).as("the client sees the answer cut, not a complete one").isFalse();
            assertThat(a.bodyBytes).isLessThan(declared);
        }
        try (Client c = new Client(router.port())) {
            Answer a = c.exchange("GET /big-chunked HTTP/1.1\r\nHost: r\r\n\r\n", false);
            assertThat(a.status).isEqualTo(200);
            assertThat(a.headers.get("transfer-encoding")).isEqualTo("chunked");
            assertThat(a.complete).as("no terminating chunk after a cut").isFalse();
            assertThat(a.bodyBytes).isEqualTo(34L * MIB);
        }
        await().until(() -> router.registry().snapshot().workers().get(0).inFlight() == 0);
    }

    @Test
    void rfc9112_8_aSmallBodyTheWorkerCutIsAClean502() throws Exception {
        ScriptedWorker w = worker((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly ten b");
            return false;
        });
        RouterApp router = router("--worker-urls", w.url());
        try (Client c = new Client(router.port())) {
            Answer a = c.exchange("GET /small HTTP/1.1\r\nHost: r\r\n\r\n", false);
            assertThat(a.status).isEqualTo(502);
            assertThat(a.complete).isTrue();
            assertThat(a.body()).contains("BadGatewayError");
        }
    }

    @Test
    void rfc9110_9_2_2_aRequestWithSideEffectsThatMayHaveReachedAWorkerIsNotSentToAnother() throws Exception {
        ScriptedWorker.Script drop = (r, out) -> false; // reads the POST, then drops the connection unanswered
        ScriptedWorker a = worker(drop);
        ScriptedWorker b = worker(drop);
        RouterApp router = router("--worker-urls", a.url(), b.url());
        try (Client c = new Client(router.port())) {
            Answer answer = c.exchange("POST /v1/files HTTP/1.1\r\nHost: r\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 4\r\n\r\nfile", false);
            assertThat(answer.status).isEqualTo(502);
        }
        assertThat(a.count("POST", "/v1/files") + b.count("POST", "/v1/files")).as("sent once, to one worker")
                .isEqualTo(1);
    }

    @Test
    void rfc9110_5_5_aHeaderWithControlCharactersFromAWorkerIsNotRelayed() throws Exception {
        ScriptedWorker w = worker((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nX-Evil: a\rSet-Cookie: s=1\r\nContent-Length: 2\r\n\r\nok");
            return true;
        });
        RouterApp router = router("--worker-urls", w.url(), "--disable-retries");
        try (Client c = new Client(router.port())) {
            Answer a = c.exchange("GET /x HTTP/1.1\r\nHost: r\r\n\r\n", false);
            assertThat(a.status).isEqualTo(502);
            assertThat(a.headers).doesNotContainKey("set-cookie").doesNotContainKey("x-evil");
        }
    }

    private static void writeZeros(OutputStream out, int n) throws IOException {
        byte[] zeros = new byte[64 * 1024];
        for (int left = n; left > 0; left -= zeros.length) {
            out.write(zeros, 0, Math.min(left, zeros.length));
        }
        out.flush();
    }

    /** One answer as the client read it off the wire. */
    private static final class Answer {
        int status;
        final Map<String, String> headers = new LinkedHashMap<>();
        final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        long bodyBytes;
        boolean complete;

        String body() {
            return kept.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** A raw HTTP/1.1 client on one keep-alive connection: exact bytes out, framing checked on the way in. */
    private static final class Client implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;

        Client(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(30_000);
            in = new java.io.BufferedInputStream(socket.getInputStream(), 64 * 1024);
        }

        Answer exchange(String request, boolean head) throws IOException {
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            Answer a = new Answer();
            String status = line();
            a.status = Integer.parseInt(status.substring(9, 12));
            for (String l = line(); !l.isEmpty(); l = line()) {
                int colon = l.indexOf(':');
                a.headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
            }
            if (head || a.status == 304 || a.status == 204) {
                a.complete = true;
                return a;
            }
            if ("chunked".equals(a.headers.get("transfer-encoding"))) {
                while (true) {
                    String size = line();
                    if (size == null) {
                        return a; // the connection closed before the last chunk
                    }
                    int n = Integer.parseInt(size.trim(), 16);
                    if (n == 0) {
                        line();
                        a.complete = true;
                        return a;
                    }
                    if (!body(a, n)) {
                        return a;
                    }
                    line();
                }
            }
            long length = Long.parseLong(a.headers.get("content-length"));
            a.complete = body(a, length);
            return a;
        }

        /** Reads {@code n} body bytes; false when the connection closed first. */
        private boolean body(Answer a, long n) throws IOException {
            byte[] buf = new byte[64 * 1024];
            while (n > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, n));
                if (r < 0) {
                    return false;
                }
                if (a.kept.size() < 4096) {
                    a.kept.write(buf, 0, Math.min(r, 4096));
                }
                a.bodyBytes += r;
                n -= r;
            }
            return true;
        }

        /** A CRLF-terminated line, or {@code null} at the end of the stream. */
        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    int end = sb.length() > 0 && sb.charAt(sb.length() - 1) == '\r' ? sb.length() - 1 : sb.length();
                    return sb.substring(0, end);
                }
                sb.append((char) c);
            }
            return null;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
