package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Test client for the simulated worker: JDK HttpClient (HTTP/1.1) for normal exchanges, JSON and SSE parsing
 * helpers, and a raw socket for what HttpClient cannot do (close mid-stream, see the exact wire bytes).
 */
final class SimClient {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();
    private final String base;
    private final int port;

    SimClient(SimWorker worker) {
        this.base = worker.url();
        this.port = worker.port();
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT).GET().build());
    }

    HttpResponse<String> postJson(String path, String json, String... headers) {
        return post(path, "application/json", json.getBytes(StandardCharsets.UTF_8), headers);
    }

    HttpResponse<String> post(String path, String contentType, byte[] body, String... headers) {
        return send(request(path, contentType, body, headers));
    }

    CompletableFuture<HttpResponse<String>> postJsonAsync(String path, String json) {
        return http.sendAsync(request(path, "application/json", json.getBytes(StandardCharsets.UTF_8)),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpRequest request(String path, String contentType, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return b.build();
    }

    <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) throws IOException {
        try {
            return http.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private HttpResponse<String> send(HttpRequest request) {
        try {
            return send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode json(HttpResponse<String> response) {
        return json(response.body());
    }

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    /** The payloads of an SSE body ({@code data: X\n\n} each), asserting exact framing. */
    static List<String> events(String body) {
        List<String> events = new ArrayList<>();
        int pos = 0;
        while (pos < body.length()) {
            int end = body.indexOf("\n\n", pos);
            if (end < 0) {
                throw new AssertionError("unterminated event at " + pos + ": " + body.substring(pos));
            }
            String event = body.substring(pos, end);
            if (!event.startsWith("data: ") || event.indexOf('\n') >= 0) {
                throw new AssertionError("bad SSE framing: [" + event + "]");
            }
            events.add(event.substring(6));
            pos = end + 2;
        }
        return events;
    }

    /** Opens a raw HTTP/1.1 connection and sends one POST with a JSON body. */
    RawConnection raw(String path, String json, String... extraHeaderLines) throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout((int) TIMEOUT.toMillis());
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n");
        for (String line : extraHeaderLines) {
            head.append(line).append("\r\n");
        }
        head.append("\r\n");
        OutputStream out = socket.getOutputStream();
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
        return new RawConnection(socket);
    }

    /** A raw client connection: read bytes as they come, then close whenever the test wants. */
    static final class RawConnection implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final StringBuilder received = new StringBuilder();

        RawConnection(Socket socket) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
        }

        /** Reads until the received text contains {@code marker}; fails at end of stream. */
        String readUntil(String marker) throws IOException {
            byte[] buf = new byte[8192];
            while (received.indexOf(marker) < 0) {
                int n = in.read(buf);
                if (n < 0) {
                    throw new AssertionError("connection ended before [" + marker + "]; got: " + received);
                }
                received.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
            }
            return received.toString();
        }

        /** Reads until the server closes the connection; returns everything received. */
        String readToEnd() throws IOException {
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) >= 0; ) {
                received.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
            }
            return received.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
