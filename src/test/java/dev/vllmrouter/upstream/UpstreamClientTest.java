package dev.vllmrouter.upstream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The wire-level client against scripted raw-socket servers: framing, keep-alive reuse, stale connections, aborts.
 * Each script gets the request head it read and the socket's output stream.
 */
class UpstreamClientTest {
    private final List<ServerSocket> servers = new CopyOnWriteArrayList<>();
    private final UpstreamClient client = new UpstreamClient(Duration.ofSeconds(2), Duration.ofSeconds(5));

    @AfterEach
    void close() throws IOException {
        client.close();
        for (ServerSocket s : servers) {
            s.close();
        }
    }

    /** A server that runs {@code script} for every request on every connection; counts connections. */
    private String server(AtomicInteger connections, BlockingQueue<String> heads, Script script) throws IOException {
        ServerSocket ss = new ServerSocket(0);
        servers.add(ss);
        Thread.ofVirtual().start(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket s = ss.accept();
                    connections.incrementAndGet();
                    Thread.ofVirtual().start(() -> serve(s, heads, script));
                } catch (IOException e) {
                    return;
                }
            }
        });
        return "http://127.0.0.1:" + ss.getLocalPort();
    }

    @FunctionalInterface
    interface Script {
        /** @return false to close the connection after this response */
        boolean respond(String head, byte[] body, OutputStream out) throws IOException;
    }

    private static void serve(Socket s, BlockingQueue<String> heads, Script script) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                int cl = 0;
                for (String line : head.split("\r\n")) {
                    if (line.toLowerCase().startsWith("content-length:")) {
                        cl = Integer.parseInt(line.substring(15).trim());
                    }
                }
                byte[] body = in.readNBytes(cl);
                heads.add(head);
                if (!script.respond(head, body, out)) {
                    return;
                }
                out.flush();
            }
        } catch (IOException ignored) {
            // client went away
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            byte[] a = b.toByteArray();
            int n = a.length;
            if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') {
                return b.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    /** Blocks the scripted worker until the test's sockets are closed (bounded, never released on purpose). */
    private static void hang() throws IOException {
        try {
            new java.util.concurrent.CountDownLatch(1).await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw new IOException(e);
        }
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private UpstreamResponse get(String base, String target) {
        return client.send("w", "GET", base, target, h -> h.add("X-Test", "1"), null, null);
    }

    private static String readAll(UpstreamResponse r) throws IOException {
        return new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void writesTheRequestExactlyAndReusesTheConnection() throws Exception {
        AtomicInteger conns = new AtomicInteger();
        BlockingQueue<String> heads = new LinkedBlockingQueue<>();
        String base = server(conns, heads, (head, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n");
            out.write(body);
            return true;
        });
        for (int i = 0; i < 3; i++) {
            byte[] payload = ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8);
            try (UpstreamResponse r = client.send("w", "POST", base, "/a%2Fb?x=1&flag&x=2",
                    h -> h.add("Content-Type", "application/json"), payload, null)) {
                assertThat(r.status()).isEqualTo(200);
                assertThat(readAll(r)).isEqualTo("{\"n\":" + i + "}");
            }
        }
        String head = heads.poll(5, TimeUnit.SECONDS);
        assertThat(head).startsWith("POST /a%2Fb?x=1&flag&x=2 HTTP/1.1\r\nHost: 127.0.0.1:");
        assertThat(head).contains("\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n");
        assertThat(conns.get()).as("keep-alive connection reused").isEqualTo(1);
    }

    @Test
    void chunkedBodiesWithExtensionsAndTrailersAreDecoded() throws Exception {
        String base = server(new AtomicInteger(), new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n");
            write(out, "5;ext=1\r\nhello\r\n");
            write(out, "7\r\n, world\r\n");
            write(out, "0\r\nX-Trailer: t\r\n\r\n");
            return true;
        });
        try (UpstreamResponse r = get(base, "/s")) {
            assertThat(r.headers().first("content-type")).isEqualTo("text/event-stream");
            assertThat(readAll(r)).isEqualTo("hello, world");
        }
        try (UpstreamResponse r = get(base, "/s")) {
            assertThat(readAll(r)).as("connection still usable after the trailer").isEqualTo("hello, world");
        }
    }

    @Test
    void chunkedReadsReturnAsSoonAsBytesArrive() throws Exception {
        BlockingQueue<String> release = new LinkedBlockingQueue<>();
        String base = server(new AtomicInteger(), new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            write(out, "5\r\nfirs");
            try {
                release.poll(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            write(out, "t\r\n0\r\n\r\n");
            return true;
        });
        try (UpstreamResponse r = get(base, "/")) {
            byte[] buf = new byte[100];
            int n = r.body().read(buf, 0, buf.length);
            // the second half of the chunk is held by the server: the read must not wait for it
            assertThat(new String(buf, 0, n, StandardCharsets.UTF_8)).isEqualTo("firs");
            release.add("go");
            assertThat(readAll(r)).isEqualTo("t");
        }
    }

    @Test
    void interimResponsesAreSkippedAndBodyUntilCloseIsRead() throws Exception {
        AtomicInteger conns = new AtomicInteger();
        String base = server(conns, new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nX-A: 1\r\nX-A: 2\r\n\r\nno length here");
            return false;
        });
        try (UpstreamResponse r = get(base, "/")) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers().size()).isEqualTo(2);
            assertThat(readAll(r)).isEqualTo("no length here");
        }
        try (UpstreamResponse r = get(base, "/")) {
            assertThat(readAll(r)).isEqualTo("no length here");
        }
        assertThat(conns.get()).as("a body delimited by close cannot be followed on that connection").isEqualTo(2);
    }

    @Test
    void bodyCutShortIsAnError() throws Exception {
        String base = server(new AtomicInteger(), new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
            return false;
        });
        try (UpstreamResponse r = get(base, "/")) {
            assertThatThrownBy(() -> r.body().readAllBytes()).isInstanceOf(IOException.class);
        }
        String chunked = server(new AtomicInteger(), new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort");
            return false;
        });
        try (UpstreamResponse r = get(chunked, "/")) {
            assertThatThrownBy(() -> r.body().readAllBytes()).isInstanceOf(IOException.class);
        }
    }

    @Test
    void garbageIsAnIoFailure() throws Exception {
        String base = server(new AtomicInteger(), new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "SSH-2.0-OpenSSH\r\n\r\n");
            return false;
        });
        assertThatThrownBy(() -> get(base, "/"))
                .isInstanceOfSatisfying(UpstreamException.class,
                        e -> assertThat(e.kind()).isEqualTo(UpstreamException.Kind.IO));
    }

    @Test
    void refusedConnectionIsAConnectFailure() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertThatThrownBy(() -> get("http://127.0.0.1:" + port, "/"))
                .isInstanceOfSatisfying(UpstreamException.class,
                        e -> assertThat(e.kind()).isEqualTo(UpstreamException.Kind.CONNECT));
    }

    @Test
    void availableCountsOnlyChunkDataAlreadyHere() throws Exception {
        String base = server(new AtomicInteger(), new LinkedBlockingQueue<>(), (head, body, out) -> {
            out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n3\r\nab")
                    .getBytes(StandardCharsets.ISO_8859_1)); // the third chunk is cut short ...
            out.flush();
            hang(); // ... and its rest never comes
            return false;
        });
        try (UpstreamResponse up = client.send("w", "GET", base, "/", h -> { }, null, null)) {
            InputStream in = up.body();
            byte[] b = new byte[64];
            assertThat(in.read(b, 0, 64)).isEqualTo(5);
            assertThat(in.available()).as("the next chunk is all here").isEqualTo(6);
            assertThat(in.read(b, 0, 64)).isEqualTo(6);
            assertThat(new String(b, 0, 6, StandardCharsets.ISO_8859_1)).isEqualTo(" world");
            assertThat(in.available()).as("framed, two of its three bytes here").isEqualTo(2);
            assertThat(in.read(b, 0, 2)).isEqualTo(2);
            assertThat(in.available()).as("nothing more without the socket").isZero();
        }
    }

    @Test
    void silenceIsATimeout() throws Exception {
        String base = server(new AtomicInteger(), new LinkedBlockingQueue<>(), (head, body, out) -> {
            hang(); // the worker never answers
            return false;
        });
        assertThatThrownBy(() -> client.send("w", "GET", base, "/", h -> { }, null, Duration.ofMillis(200)))
                .isInstanceOfSatisfying(UpstreamException.class,
                        e -> assertThat(e.kind()).isEqualTo(UpstreamException.Kind.TIMEOUT));
    }

    @Test
    void aPooledConnectionTheWorkerClosedIsReplacedTransparently() throws Exception {
        AtomicInteger conns = new AtomicInteger();
        // answers once per connection, then closes it (as uvicorn does after its keep-alive timeout)
        String base = server(conns, new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            return false;
        });
        for (int i = 0; i < 3; i++) {
            try (UpstreamResponse r = client.send("w", "POST", base, "/", h -> { }, new byte[] {1}, null)) {
                assertThat(readAll(r)).isEqualTo("ok");
            }
            // the worker's FIN arrives asynchronously: what is checked is a request sent after it did
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> client.idleStillClean(base) == 0);
        }
        assertThat(conns.get()).isEqualTo(3);
    }

    @Test
    void closingMidBodyClosesTheConnectionInsteadOfPoolingIt() throws Exception {
        AtomicInteger conns = new AtomicInteger();
        String base = server(conns, new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
            write(out, "67890");
            return true;
        });
        UpstreamResponse first = get(base, "/");
        first.body().read(new byte[3]);
        first.close();
        try (UpstreamResponse second = get(base, "/")) {
            assertThat(readAll(second)).isEqualTo("1234567890");
        }
        assertThat(conns.get()).as("a half-read connection is never reused").isEqualTo(2);
    }

    @Test
    void closeFromAnotherThreadUnblocksARead() throws Exception {
        String base = server(new AtomicInteger(), new LinkedBlockingQueue<>(), (head, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            hang();
            return false;
        });
        UpstreamResponse r = get(base, "/");
        Thread.ofVirtual().start(r::close);
        assertThatThrownBy(() -> r.body().read(new byte[10])).isInstanceOf(IOException.class);
    }
}
