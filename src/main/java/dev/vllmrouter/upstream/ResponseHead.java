package dev.vllmrouter.upstream;

import java.io.IOException;
import java.util.Locale;

/**
 * A worker's response head, read and checked as a strict HTTP/1.1 client must (RFC 9112 §4, §5, §6.3; RFC 9110
 * §5.5), and how its body is delimited. Anything a worker sends that a proxy could misread, or pass on to do harm
 * downstream, is refused as a {@link MalformedResponseException} (the request then fails as a worker failure,
 * 502, and the connection is closed), never guessed at:
 * <ul>
 * <li>status line: {@code HTTP/1.0} or {@code HTTP/1.1}, a three-digit status 100..599;
 * <li>1xx interim responses are skipped (at most {@value #MAX_INTERIM}), except 101: the router never asks for an
 *     upgrade;
 * <li>field names are tokens (whitespace before the colon is removed, as a proxy must); values are trimmed of
 *     surrounding whitespace and refused when they hold a control character other than HTAB: CR and NUL are the
 *     dangerous ones (§5.5), and none of them can be relayed safely;
 * <li>an obsolete line folding (a line that starts with whitespace) continues the field before it: the fold is
 *     replaced by one space (RFC 9112 §5.2), so a folded line with a colon never becomes a field of its own;
 * <li>framing, in RFC 9112 §6.3's order: no body after HEAD, 204 or 304, whatever the headers say; then
 *     Transfer-Encoding (chunked when it is the final coding, else the body runs until close); then Content-Length;
 *     else until close. Both Transfer-Encoding and Content-Length, Transfer-Encoding in an HTTP/1.0 response,
 *     chunked applied twice or not last, and Content-Length values that differ or are not plain digits are errors.
 * </ul>
 * Thread-safety: an immutable value.
 *
 * @param status    the final status
 * @param keepAlive whether the connection may carry another request once this body was read to its end
 * @param length    body length: 0 for none, a byte count, {@link #CHUNKED} or {@link #UNTIL_CLOSE}
 */
record ResponseHead(int status, WireHeaders headers, boolean keepAlive, long length) {
    static final long CHUNKED = -1;
    static final long UNTIL_CLOSE = -2;
    static final int MAX_HEAD_BYTES = 64 * 1024;
    static final int MAX_HEADERS = 256;
    static final int MAX_INTERIM = 16;

    /** A response head that no strict client may accept (the connection cannot be trusted after it). */
    static final class MalformedResponseException extends IOException {
        MalformedResponseException(String message) {
            super(message);
        }
    }

    /** Reads the final response head to a {@code method} request from {@code c}. */
    static ResponseHead read(Connection c, String method) throws IOException {
        for (int interim = 0; ; interim++) {
            String statusLine = c.readLine(8192);
            if (!(statusLine.startsWith("HTTP/1.0 ") || statusLine.startsWith("HTTP/1.1 "))
                    || statusLine.length() < 12 || !digits(statusLine, 9, 12)
                    || (statusLine.length() > 12 && statusLine.charAt(12) != ' ')) {
                throw malformed("malformed status line from worker: '" + abbreviate(statusLine) + "'");
            }
            int status = Integer.parseInt(statusLine, 9, 12, 10);
            if (status < 100 || status > 599) {
                throw malformed("status " + status + " from worker is out of range");
            }
            WireHeaders headers = readHeaders(c);
            if (status == 101) {
                throw malformed("worker switched protocols (101) though no upgrade was asked for");
            }
            if (status < 200) {
                if (interim >= MAX_INTERIM) {
                    throw malformed("worker sent more than " + MAX_INTERIM + " interim (1xx) responses");
                }
                continue; // RFC 9110 §15.2: interim responses come before the final one
            }
            boolean http10 = statusLine.charAt(7) == '0';
            boolean keepAlive = http10 ? headers.hasToken("Connection", "keep-alive")
                    : !headers.hasToken("Connection", "close");
            long length = framing(method, status, http10, headers);
            return new ResponseHead(status, headers, keepAlive && length != UNTIL_CLOSE, length);
        }
    }

    /** RFC 9112 §6.3: how the body of this response is delimited. */
    static long framing(String method, int status, boolean http10, WireHeaders headers) throws IOException {
        if (method.equals("HEAD") || status == 204 || status == 304) {
            return 0;
        }
        String te = headers.joined("Transfer-Encoding");
        String cl = headers.joined("Content-Length");
        if (te != null) {
            if (cl != null) {
                throw malformed("worker sent both Transfer-Encoding and Content-Length (ambiguous framing)");
            }
            if (http10) {
                throw malformed("worker sent Transfer-Encoding in an HTTP/1.0 response (faulty framing)");
            }
            String[] codings = te.split(",");
            int chunked = 0;
            int last = -1;
            for (int i = 0; i < codings.length; i++) {
                String coding = codings[i].trim().toLowerCase(Locale.ROOT);
                if (coding.isEmpty()) {
                    continue;
                }
                last = i;
                if (coding.equals("chunked")) {
                    chunked++;
                }
            }
            if (chunked == 0) {
                return UNTIL_CLOSE; // a response whose final coding is not chunked runs until close
            }
            if (chunked > 1 || !codings[last].trim().equalsIgnoreCase("chunked")) {
                throw malformed("worker's Transfer-Encoding '" + abbreviate(te) + "' is not chunked once, last");
            }
            return CHUNKED;
        }
        if (cl != null) {
            long length = -1;
            for (String part : cl.split(",", -1)) {
                String v = part.trim();
                if (v.isEmpty() || v.length() > 18 || !digits(v, 0, v.length())) {
                    throw malformed("malformed Content-Length from worker: '" + abbreviate(cl) + "'");
                }
                long n = Long.parseLong(v);
                if (length >= 0 && n != length) {
                    throw malformed("worker sent differing Content-Length values: '" + abbreviate(cl) + "'");
                }
                length = n;
            }
            return length;
        }
        return UNTIL_CLOSE;
    }

    private static WireHeaders readHeaders(Connection c) throws IOException {
        WireHeaders headers = new WireHeaders();
        int bytes = 0;
        while (true) {
            String line = c.readLine(MAX_HEAD_BYTES);
            if (line.isEmpty()) {
                return headers;
            }
            bytes += line.length() + 2;
            if (bytes > MAX_HEAD_BYTES || headers.size() >= MAX_HEADERS) {
                throw malformed("response head from worker exceeds " + MAX_HEAD_BYTES + " bytes or "
                        + MAX_HEADERS + " fields");
            }
            char first = line.charAt(0);
            if (first == ' ' || first == '\t') {
                // obs-fold (RFC 9112 §5.2): the line continues the previous field's value
                if (headers.size() == 0) {
                    throw malformed("worker's response head starts with a folded line");
                }
                String more = value(line, 0);
                int i = headers.size() - 1;
                String previous = headers.value(i);
                headers.value(i, previous.isEmpty() ? more : more.isEmpty() ? previous : previous + " " + more);
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw malformed("malformed header line from worker: '" + abbreviate(line) + "'");
            }
            int nameEnd = colon;
            while (nameEnd > 0 && (line.charAt(nameEnd - 1) == ' ' || line.charAt(nameEnd - 1) == '\t')) {
                nameEnd--; // RFC 9112 §5.1: a proxy removes whitespace between name and colon
            }
            if (nameEnd == 0 || !token(line, nameEnd)) {
                throw malformed("malformed header name from worker: '" + abbreviate(line.substring(0, colon)) + "'");
            }
            headers.add(line.substring(0, nameEnd), value(line, colon + 1));
        }
    }

    /** The field value from {@code from}, without surrounding whitespace; refused with a control character. */
    private static String value(String line, int from) throws IOException {
        int start = from;
        int end = line.length();
        while (start < end && (line.charAt(start) == ' ' || line.charAt(start) == '\t')) {
            start++;
        }
        while (end > start && (line.charAt(end - 1) == ' ' || line.charAt(end - 1) == '\t')) {
            end--;
        }
        for (int i = start; i < end; i++) {
            char ch = line.charAt(i);
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                throw malformed("header value from worker holds control character 0x"
                        + Integer.toHexString(ch) + " (RFC 9110 §5.5)");
            }
        }
        return line.substring(start, end);
    }

    /** Whether the first {@code end} characters are tchars (RFC 9110 §5.6.2). */
    private static boolean token(String s, int end) {
        for (int i = 0; i < end; i++) {
            char ch = s.charAt(i);
            boolean ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
                    || (ch < 128 && "!#$%&'*+-.^_`|~".indexOf(ch) >= 0);
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static boolean digits(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return to > from;
    }

    private static MalformedResponseException malformed(String message) {
        return new MalformedResponseException(message);
    }

    static String abbreviate(String s) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), 80) + 3);
        for (int i = 0; i < s.length() && i < 80; i++) {
            char ch = s.charAt(i);
            sb.append(ch < 0x20 || ch == 0x7f ? '?' : ch); // never log raw control characters
        }
        return s.length() <= 80 ? sb.toString() : sb.append("...").toString();
    }
}
