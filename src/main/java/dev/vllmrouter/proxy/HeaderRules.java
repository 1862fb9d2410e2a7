package dev.vllmrouter.proxy;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

import io.helidon.http.ClientRequestHeaders;
import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;

/**
 * Which headers cross the router, in each direction. Everything a client sends passes to the worker except hop-by-hop
 * headers (RFC 9110 §7.6.1, plus those the client's {@code Connection} header names), {@code Host},
 * {@code Content-Length} (recomputed) and {@code Expect}; the router then sets {@code X-Request-Id}, the worker key as
 * {@code Authorization} when {@code --api-key} is set, and {@code X-data-parallel-rank} for a DP worker (replacing a
 * client's). Responses pass back the same way, minus framing headers the server recomputes and the worker's
 * {@code x-request-id} (the router's own is set instead).
 */
public final class HeaderRules {
    public static final HeaderName X_REQUEST_ID = HeaderNames.create("X-Request-Id");
    public static final HeaderName X_DATA_PARALLEL_RANK = HeaderNames.create("X-data-parallel-rank");

    private static final Set<String> REQUEST_DROPPED = Set.of(
            "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
            "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length", "expect",
            "x-request-id");
    private static final Set<String> RESPONSE_DROPPED = Set.of(
            "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
            "trailer", "trailers", "transfer-encoding", "upgrade", "content-length",
            "x-request-id", "date");

    private final Header authorization;

    /** @param apiKey {@code --api-key}, or {@code null} to pass the client's Authorization through */
    public HeaderRules(String apiKey) {
        this.authorization = apiKey == null ? null : HeaderValues.create(HeaderNames.AUTHORIZATION, "Bearer " + apiKey);
    }

    /** Writes the headers of the upstream request for {@code client}'s headers. */
    public void toWorker(Headers client, RequestId requestId, int dpRank, ClientRequestHeaders out) {
        Set<String> connectionListed = connectionTokens(client);
        for (Header h : client) {
            String name = h.name().toLowerCase(Locale.ROOT);
            if (REQUEST_DROPPED.contains(name) || (connectionListed != null && connectionListed.contains(name))) {
                continue;
            }
            if (authorization != null && name.equals("authorization")) {
                continue;
            }
            if (dpRank >= 0 && name.equals("x-data-parallel-rank")) {
                continue;
            }
            out.add(h);
        }
        out.set(X_REQUEST_ID, requestId.forWorker());
        if (authorization != null) {
            out.set(authorization);
        }
        if (dpRank >= 0) {
            out.set(X_DATA_PARALLEL_RANK, Integer.toString(dpRank));
        }
    }

    /** Copies the worker's response headers that may reach the client. */
    public static void toClient(Headers worker, ClientSink sink) {
        Set<String> connectionListed = connectionTokens(worker);
        for (Header h : worker) {
            String name = h.name().toLowerCase(Locale.ROOT);
            if (RESPONSE_DROPPED.contains(name) || (connectionListed != null && connectionListed.contains(name))) {
                continue;
            }
            for (String v : h.allValues()) {
                sink.header(h.name(), v);
            }
        }
    }

    private static Set<String> connectionTokens(Headers headers) {
        if (!headers.contains(HeaderNames.CONNECTION)) {
            return null;
        }
        Set<String> tokens = new HashSet<>();
        for (String v : headers.get(HeaderNames.CONNECTION).allValues()) {
            for (String t : v.split(",")) {
                String token = t.trim().toLowerCase(Locale.ROOT);
                if (!token.isEmpty() && !token.equals("close") && !token.equals("keep-alive")) {
                    tokens.add(token);
                }
            }
        }
        return tokens.isEmpty() ? null : tokens;
    }
}
