package dev.vllmrouter.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A raw HTTP/1.x client for conformance tests: writes exactly the bytes it is given on one connection and parses
 * exactly what comes back (status line, header lines as bytes, a body framed by Content-Length, chunked, or the end
 * of the connection). Every read is bounded by a socket timeout, so a test waits for an answer without sleeping.
 */
public final class WireClient implements AutoCloseable {
    private static final int TIMEOUT_MILLIS = 15_000;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    private WireClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(TIMEOUT_MILLIS);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    public static WireClient connect(int port) {
        try {
            return new WireClient(new Socket("127.0.0.1", port));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A client whose receive buffer is {@code bytes} (set before connecting, so the TCP window stays small). */
    public static WireClient connectSmallWindow(int port, int bytes) {
        try {
            Socket s = new Socket();
            s.setReceiveBufferSize(bytes);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", port), TIMEOUT_MILLIS);
            return new WireClient(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public WireClient send(String text) {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    public WireClient send(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads one whole response; fails if the connection ends before its head. */
    public Response read() {
        try {
            byte[] head = readHeadBytes();
            Response r = Response.parse(head);
            if (r.status / 100 == 1 && r.status != 101) {
                return read();
            }
            byte[] body = readBody(r);
            return r.withBody(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads the head of a response only (for streams that are then read or left unread). */
    public Response readHead() {
        try {
            return Response.parse(readHeadBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether the router closed the connection: the next read ends (or the connection is reset) within the socket
     * timeout. Bytes that arrive instead are kept and make this return false.
     */
    public boolean closedByPeer() {
        try {
            byte[] buf = new byte[4096];
            int n = in.read(buf);
            if (n < 0) {
                return true;
            }
            pending.write(buf, 0, n);
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What arrived after the last parsed response, read until the peer closes or pauses. */
    public String rest() {
        try {
            socket.setSoTimeout(2_000);
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) > 0) {
                pending.write(buf, 0, n);
            }
        } catch (IOException ignored) {
            // end or pause: what came so far is the rest
        }
        return pending.toString(StandardCharsets.ISO_8859_1);
    }

    private byte[] readHeadBytes() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        byte[] pre = pending.toByteArray();
        pending.reset();
        int i = 0;
        while (true) {
            int b;
            if (i < pre.length) {
                b = pre[i++] & 0xff;
            } else {
                b = in.read();
            }
            if (b < 0) {
                throw new IOException("connection closed before a response head; got: "
                        + head.toString(StandardCharsets.ISO_8859_1));
            }
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                if (i < pre.length) {
                    pending.write(pre, i, pre.length - i);
                }
                return h;
            }
        }
    }

    private int nextByte() throws IOException {
        byte[] pre = pending.toByteArray();
        if (pre.length > 0) {
            pending.reset();
            pending.write(pre, 1, pre.length - 1);
            return pre[0] & 0xff;
        }
        return in.read();
    }

    private byte[] readN(int n) throws IOException {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            int b = nextByte();
            if (b < 0) {
                throw new IOException("connection closed after " + i + " of " + n + " body bytes");
            }
            out[i] = (byte) b;
        }
        return out;
    }

    private String line() throws IOException {
        ByteArrayOutputStream l = new ByteArrayOutputStream();
        int b;
        while ((b = nextByte()) >= 0 && b != '\n') {
            if (b != '\r') {
                l.write(b);
            }
        }
        return l.toString(StandardCharsets.ISO_8859_1);
    }

    private byte[] readBody(Response r) throws IOException {
        if (r.status == 204 || r.status == 304) {
            return new byte[0];
        }
        String te = r.header("transfer-encoding");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                int size = Integer.parseInt(line().trim().split(";")[0], 16);
                if (size == 0) {
                    while (!line().isEmpty()) {
                        // trailers
                    }
                    return body.toByteArray();
                }
                body.write(readN(size));
                line();
            }
        }
        String cl = r.header("content-length");
        if (cl != null) {
            return readN(Integer.parseInt(cl.trim()));
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int b;
        while ((b = nextByte()) >= 0) {
            body.write(b);
        }
        return body.toByteArray();
    }

    public Socket socket() {
        return socket;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** One parsed response: its status line, header lines (as ISO-8859-1 text, byte for byte) and body. */
    public record Response(String statusLine, int status, List<String> headerLines, byte[] rawHead, byte[] body) {
        static Response parse(byte[] head) {
            String text = new String(head, StandardCharsets.ISO_8859_1);
            String[] lines = text.substring(0, text.length() - 4).split("\r\n");
            List<String> headers = new ArrayList<>();
            for (int i = 1; i < lines.length; i++) {
                headers.add(lines[i]);
            }
            int status = Integer.parseInt(lines[0].substring(9, 12));
            return new Response(lines[0], status, headers, head, new byte[0]);
        }

        Response withBody(byte[] body) {
            return new Response(statusLine, status, headerLines, rawHead, body);
        }

        /** The first value of header {@code name} (case-insensitive), or {@code null}. */
        public String header(String name) {
            for (String line : headerLines) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                    return line.substring(colon + 1).trim();
                }
            }
            return null;
        }

        /** Whether header {@code name} has token {@code token} (both case-insensitive). */
        public boolean hasToken(String name, String token) {
            for (String line : headerLines) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                    for (String t : line.substring(colon + 1).split(",")) {
                        if (t.trim().equalsIgnoreCase(token)) {
                            return true;
                        }
                    }
                }
            }
            return false;
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }
}
