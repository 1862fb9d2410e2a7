package dev.vllmrouter.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker on loopback that answers with exactly the bytes its script writes: for HTTP conformance cases, where the
 * point is a response no real server would send. Each request (head and Content-Length body) is read and recorded,
 * then handed to the script with the connection's output stream. {@code GET /health} and {@code GET /v1/models}
 * are answered as a vLLM worker would unless the script handles them, so a router can start in front of it.
 * <p>Thread-safety: one virtual thread per connection; the counters and the request log are thread-safe.
 */
public final class ScriptedWorker implements AutoCloseable {
    /** What the worker does with one request. */
    @FunctionalInterface
    public interface Script {
        /**
         * Answers {@code request} on {@code out}.
         *
         * @return false to close the connection after it (also: dropping it without an answer)
         */
        boolean answer(Request request, OutputStream out) throws IOException;
    }

    /** One request as read: its request line, head and body. */
    public record Request(String method, String target, String head, byte[] body, int connection, int onConnection) {
        public String header(String name) {
            for (String line : head.split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                    return line.substring(colon + 1).trim();
                }
            }
            return null;
        }
    }

    private static final String MODELS = "{\"object\":\"list\",\"data\":[{\"id\":\"demo\",\"object\":\"model\","
            + "\"created\":0,\"owned_by\":\"vllm\",\"max_model_len\":4096}]}";

    private final ServerSocket server;
    private final Script script;
    private final boolean infoRoutes;
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    private final String scheme;

    private ScriptedWorker(Script script, boolean infoRoutes) throws IOException {
        this(script, infoRoutes, new ServerSocket(0, 512, InetAddress.getLoopbackAddress()), "http");
    }

    private ScriptedWorker(Script script, boolean infoRoutes, ServerSocket server, String scheme) {
        this.server = server;
        this.scheme = scheme;
        this.script = script;
        this.infoRoutes = infoRoutes;
        Thread.ofVirtual().name("scripted-worker-accept").start(this::accept);
    }

    /** A worker that runs {@code script} for every request, and answers {@code /health} and {@code /v1/models}. */
    public static ScriptedWorker start(Script script) throws IOException {
        return new ScriptedWorker(script, true);
    }

    /** As {@link #start(Script)}, over TLS on {@code server} (a bound {@code SSLServerSocket}). */
    public static ScriptedWorker startTls(Script script, ServerSocket server) {
        return new ScriptedWorker(script, true, server, "https");
    }

    /** A worker that runs {@code script} for every request, none excepted. */
    public static ScriptedWorker startBare(Script script) throws IOException {
        return new ScriptedWorker(script, false);
    }

    public String url() {
        return scheme + "://127.0.0.1:" + server.getLocalPort();
    }

    /** Connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    /** The requests read so far, in arrival order (info routes included). */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** How many requests with this method and target were read. */
    public long count(String method, String target) {
        return requests.stream().filter(r -> r.method().equals(method) && r.target().equals(target)).count();
    }

    /** Writes ISO-8859-1 text and flushes. */
    public static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                int n = connections.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(s, n));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, int connection) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            for (int i = 1; ; i++) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                String[] line = head.substring(0, head.indexOf("\r\n")).split(" ");
                int length = 0;
                for (String h : head.split("\r\n")) {
                    if (h.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                        length = Integer.parseInt(h.substring(15).trim());
                    }
                }
                Request r = new Request(line[0], line[1], head, in.readNBytes(length), connection, i);
                requests.add(r);
                boolean keep;
                if (infoRoutes && r.method().equals("GET") && r.target().equals("/health")) {
                    write(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                    keep = true;
                } else if (infoRoutes && r.method().equals("GET") && r.target().equals("/v1/models")) {
                    write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                            + MODELS.length() + "\r\n\r\n" + MODELS);
                    keep = true;
                } else {
                    keep = script.answer(r, out);
                    out.flush();
                }
                if (!keep) {
                    return;
                }
            }
        } catch (IOException ignored) {
            // the client went away, or the test closed the worker
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        int state = 0; // matched bytes of CRLFCRLF
        while ((c = in.read()) >= 0) {
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3))
                    ? state + 1 : (c == '\r' ? 1 : 0);
            if (state == 4) {
                return b.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
