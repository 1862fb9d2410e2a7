package dev.vllmrouter.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.helidon.http.DirectHandler;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.http.WritableHeaders;

/**
 * Decides how a request's body is framed (RFC 9112 §6), before Helidon reads it, and refuses what is ambiguous, so
 * that no two parties can read the same bytes as different requests (request smuggling). Helidon 4.3.0 compares
 * {@code Transfer-Encoding: chunked} and {@code Connection: close} as exact strings and reads only the first of
 * several {@code Content-Length}s; the headers leave here in the exact form it understands:
 * <ul>
 * <li>{@code Transfer-Encoding} with {@code chunked} alone, in any case, becomes {@code chunked};</li>
 * <li>{@code Transfer-Encoding} with another coding: 501 when {@code chunked} is last (a coding the router does not
 *     decode), else 400 (the body's end cannot be known, §6.3);</li>
 * <li>{@code Transfer-Encoding} together with {@code Content-Length}: 400 (§6.3 allows to refuse, and the router
 *     forwards with a length of its own);</li>
 * <li>{@code Content-Length} that is not digits, or several different ones: 400; the same value repeated
 *     ({@code 5, 5}) becomes one (RFC 9110 §8.6);</li>
 * <li>a {@code close} option in {@code Connection}, in any case or list, becomes {@code Connection: close}, which
 *     makes Helidon answer with {@code Connection: close} ({@link ConnectionCloseFilter} then closes).</li>
 * </ul>
 * Every refusal is a {@link RequestException} that closes the connection after its answer. Pure; headers are changed
 * in place.
 */
final class RequestFraming {
    private RequestFraming() {
    }

    /**
     * Checks and normalises {@code headers} in place.
     *
     * @throws RequestException 400 or 501, with the connection to be closed
     */
    static void check(WritableHeaders<?> headers) {
        if (headers.contains(HeaderNames.CONNECTION) && !headers.contains(HeaderValues.CONNECTION_CLOSE)
                && !headers.contains(HeaderValues.CONNECTION_KEEP_ALIVE)
                && hasToken(headers.get(HeaderNames.CONNECTION), "close")) {
            headers.set(HeaderValues.CONNECTION_CLOSE);
        }
        if (headers.contains(HeaderNames.TRANSFER_ENCODING)) {
            transferEncoding(headers);
        } else if (headers.contains(HeaderNames.CONTENT_LENGTH)) {
            contentLength(headers);
        }
    }

    private static void transferEncoding(WritableHeaders<?> headers) {
        if (headers.contains(HeaderNames.CONTENT_LENGTH)) {
            throw refuse(Status.BAD_REQUEST_400, "Content-Length and Transfer-Encoding together: the body's "
                    + "length is ambiguous (RFC 9112 section 6.3)");
        }
        if (headers.contains(HeaderValues.TRANSFER_ENCODING_CHUNKED)) {
            return; // the usual case, exactly as Helidon expects it
        }
        List<String> codings = tokens(headers.get(HeaderNames.TRANSFER_ENCODING));
        int chunked = 0;
        for (String c : codings) {
            if (c.equals("chunked")) {
                chunked++;
            }
        }
        if (codings.size() == 1 && chunked == 1) {
            headers.set(HeaderValues.TRANSFER_ENCODING_CHUNKED);
            return;
        }
        if (codings.isEmpty() || chunked != 1 || !codings.getLast().equals("chunked")) {
            throw refuse(Status.BAD_REQUEST_400, "Transfer-Encoding '" + values(headers) + "' does not end with "
                    + "chunked once: the body's length cannot be known (RFC 9112 section 6.3)");
        }
        throw refuse(Status.NOT_IMPLEMENTED_501, "Transfer-Encoding '" + values(headers) + "' is not supported: "
                + "only chunked (RFC 9112 section 6.1)");
    }

    private static void contentLength(WritableHeaders<?> headers) {
        Header header = headers.get(HeaderNames.CONTENT_LENGTH);
        if (header.valueCount() == 1 && isDigits(header.get())) {
            return; // the usual case
        }
        String length = null;
        for (String value : header.allValues()) {
            for (String part : value.split(",", -1)) {
                String v = part.trim();
                if (!isDigits(v)) {
                    throw refuse(Status.BAD_REQUEST_400, "Content-Length '" + values(headers) + "' is not a "
                            + "number of bytes (RFC 9110 section 8.6)");
                }
                if (length != null && !sameNumber(length, v)) {
                    throw refuse(Status.BAD_REQUEST_400, "Content-Length '" + values(headers) + "' has "
                            + "different values (RFC 9112 section 6.3)");
                }
                length = v;
            }
        }
        headers.set(HeaderValues.create(HeaderNames.CONTENT_LENGTH, length));
    }

    /** Whether {@code header} lists {@code token} (case-insensitive), in any of its lines. */
    static boolean hasToken(Header header, String token) {
        for (String value : header.allValues()) {
            for (String part : value.split(",")) {
                if (part.trim().equalsIgnoreCase(token)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<String> tokens(Header header) {
        List<String> out = new ArrayList<>();
        for (String value : header.allValues()) {
            for (String part : value.split(",")) {
                String t = part.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty()) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    private static boolean isDigits(String s) {
        if (s.isEmpty() || s.length() > 18) { // longer overflows a long; no body that large is accepted anyway
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean sameNumber(String a, String b) {
        return Long.parseLong(a) == Long.parseLong(b);
    }

    private static String values(WritableHeaders<?> headers) {
        String name = headers.contains(HeaderNames.TRANSFER_ENCODING) ? "Transfer-Encoding" : "Content-Length";
        String joined = String.join(", ", headers.get(HeaderNames.create(name)).allValues());
        return joined.length() > 64 ? joined.substring(0, 64) + "..." : joined;
    }

    private static RequestException refuse(Status status, String message) {
        return RequestException.builder()
                .type(status.code() == 400 ? DirectHandler.EventType.BAD_REQUEST : DirectHandler.EventType.OTHER)
                .status(status)
                .setKeepAlive(false)
                .safeMessage(true)
                .message(message)
                .build();
    }
}
