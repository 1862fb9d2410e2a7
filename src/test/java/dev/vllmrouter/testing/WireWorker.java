package dev.vllmrouter.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A scripted upstream on loopback that keeps every request exactly as it came on the wire (request line and header
 * bytes, decoded body) and answers with bytes the test chooses. {@code /health} and {@code /v1/models} (model
 * {@code demo}) are answered for the router's own probes and are not recorded.
 */
public final class WireWorker implements AutoCloseable {
    /** One request as received. */
    public record Request(byte[] rawHead, byte[] body) {
        /** The request line, bytes as ISO-8859-1 characters. */
        public String line() {
            String head = new String(rawHead, StandardCharsets.ISO_8859_1);
            return head.substring(0, head.indexOf("\r\n"));
        }

        /** The request target (second word of the request line), bytes as ISO-8859-1 characters. */
        public String target() {
            return line().split(" ")[1];
        }

        /** The raw bytes of the first value of header {@code name} (case-insensitive), or {@code null}. */
        public byte[] headerBytes(String name) {
            String head = new String(rawHead, StandardCharsets.ISO_8859_1);
            for (String l : head.split("\r\n")) {
                int colon = l.indexOf(':');
                if (colon > 0 && l.substring(0, colon).equalsIgnoreCase(name)) {
                    return l.substring(colon + 1).trim().getBytes(StandardCharsets.ISO_8859_1);
                }
            }
            return null;
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private static final byte[] MODELS = json("{\"object\":\"list\",\"data\":[{\"id\":\"demo\",\"object\":\"model\"}]}");
    private final ServerSocket server;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private volatile Function<Request, byte[]> answer = r -> json("{\"ok\":true}");

    private WireWorker() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("wire-worker-accept").start(this::acceptLoop);
    }

    public static WireWorker start() {
        try {
            return new WireWorker();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    /** How the worker answers recorded requests (whole response bytes). */
    public WireWorker answer(Function<Request, byte[]> answer) {
        this.answer = answer;
        return this;
    }

    public List<Request> requests() {
        return requests;
    }

    /** Waits (bounded) for the {@code n}-th recorded request. */
    public Request awaitRequest(int n) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> requests.size() >= n);
        return requests.get(n - 1);
    }

    /** A 200 JSON response with Content-Length. */
    public static byte[] json(String body) {
        return response("200 OK", "Content-Type: application/json\r\n", body.getBytes(StandardCharsets.UTF_8));
    }

    /** A response with {@code status}, extra header lines (each ending in CRLF) and a Content-Length body. */
    public static byte[] response(String status, String headerLines, byte[] body) {
        byte[] head = ("HTTP/1.1 " + status + "\r\n" + headerLines + "Content-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread.ofVirtual().name("wire-worker-conn").start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                byte[] head = readHead(in);
                if (head == null) {
                    return;
                }
                String text = new String(head, StandardCharsets.ISO_8859_1);
                byte[] body = readBody(in, text);
                String target = text.substring(0, text.indexOf("\r\n")).split(" ")[1];
                if (target.equals("/health")) {
                    out.write(response("200 OK", "", new byte[0]));
                } else if (target.equals("/v1/models")) {
                    out.write(response("200 OK", "Content-Type: application/json\r\n", MODELS));
                } else {
                    Request r = new Request(head, body);
                    requests.add(r);
                    out.write(answer.apply(r));
                }
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            // connection over
        }
    }

    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        int state = 0;
        while ((b = in.read()) >= 0) {
            head.write(b);
            state = switch (state) {
                case 0 -> b == '\r' ? 1 : 0;
                case 1 -> b == '\n' ? 2 : b == '\r' ? 1 : 0;
                case 2 -> b == '\r' ? 3 : 0;
                case 3 -> b == '\n' ? 4 : b == '\r' ? 1 : 0;
                default -> 0;
            };
            if (state == 4) {
                return head.toByteArray();
            }
        }
        return null;
    }

    private static byte[] readBody(InputStream in, String head) throws IOException {
        String lower = head.toLowerCase(Locale.ROOT);
        int cl = lower.indexOf("\r\ncontent-length:");
        if (lower.contains("\r\ntransfer-encoding:")) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                int size = Integer.parseInt(line(in).trim().split(";")[0], 16);
                if (size == 0) {
                    while (!line(in).isEmpty()) {
                        // trailers
                    }
                    return body.toByteArray();
                }
                body.write(in.readNBytes(size));
                line(in);
            }
        }
        if (cl < 0) {
            return new byte[0];
        }
        int end = lower.indexOf("\r\n", cl + 2);
        return in.readNBytes(Integer.parseInt(head.substring(cl + 17, end).trim()));
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream l = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (b != '\r') {
                l.write(b);
            }
        }
        return l.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
