package dev.vllmrouter.proxy;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;

import dev.vllmrouter.tracing.UpstreamSpan;

import dev.vllmrouter.upstream.HeaderSink;
import dev.vllmrouter.upstream.WireHeaders;

/**
 * Which headers cross the router, in each direction. Everything a client sends passes to the worker except hop-by-hop
 * headers (RFC 9110 §7.6.1, plus those the client's {@code Connection} header names), {@code Host},
 * {@code Content-Length} (recomputed) and {@code Expect}; the router then sets {@code X-Request-Id}, the worker key as
 * {@code Authorization} when {@code --api-key} is set, and {@code X-data-parallel-rank} for a DP worker (replacing a
 * client's). Responses pass back the same way, minus framing headers the server recomputes and the worker's
 * {@code x-request-id} (the router's own is set instead).
 */
public final class HeaderRules {
    public static final String X_REQUEST_ID = "X-Request-Id";
    public static final String X_DATA_PARALLEL_RANK = "X-data-parallel-rank";

    private static final Set<String> REQUEST_DROPPED = Set.of(
            "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
            "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length", "expect",
            "x-request-id");
    private static final Set<String> RESPONSE_DROPPED = Set.of(
            "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
            "trailer", "trailers", "transfer-encoding", "upgrade", "content-length",
            "x-request-id", "date");

    private final String authorization;
    private final boolean dropClientAuthorization;

    /** @param apiKey {@code --api-key}, or {@code null} to pass the client's Authorization through */
    public HeaderRules(String apiKey) {
        this(apiKey, false);
    }

    /**
     * @param apiKey                  {@code --api-key}: sent to workers instead of the client's Authorization
     * @param dropClientAuthorization never pass the client's Authorization on (it holds a key for the router itself:
     *                                inbound auth is on)
     */
    public HeaderRules(String apiKey, boolean dropClientAuthorization) {
        this.authorization = apiKey == null ? null : "Bearer " + apiKey;
        this.dropClientAuthorization = dropClientAuthorization;
    }

    /** Writes the headers of the upstream request for {@code client}'s headers. */
    public void toWorker(Headers client, RequestId requestId, int dpRank, HeaderSink out) {
        toWorker(client, requestId, dpRank, null, out);
    }

    /**
     * Writes the headers of the upstream request for {@code client}'s headers.
     *
     * @param contentType replaces the client's Content-Type when not {@code null}
     */
    public void toWorker(Headers client, RequestId requestId, int dpRank, String contentType, HeaderSink out) {
        toWorker(client, requestId, dpRank, contentType, UpstreamSpan.NOOP, out);
    }

    /**
     * As {@link #toWorker(Headers, RequestId, int, String, HeaderSink)}, continuing the trace of {@code trace}: when it
     * has a {@code traceparent}, the client's {@code traceparent} and {@code tracestate} are replaced by its own.
     */
    public void toWorker(Headers client, RequestId requestId, int dpRank, String contentType, UpstreamSpan trace,
                         HeaderSink out) {
        String traceparent = trace.traceparent();
        Set<String> connectionListed = connectionTokens(client);
        for (Header h : client) {
            String name = h.name().toLowerCase(Locale.ROOT);
            if (REQUEST_DROPPED.contains(name) || (connectionListed != null && connectionListed.contains(name))) {
                continue;
            }
            if ((authorization != null || dropClientAuthorization) && name.equals("authorization")) {
                continue;
            }
            if (dpRank >= 0 && name.equals("x-data-parallel-rank")) {
                continue;
            }
            if (contentType != null && name.equals("content-type")) {
                continue;
            }
            if (traceparent != null && (name.equals("traceparent") || name.equals("tracestate"))) {
                continue;
            }
            for (String v : h.allValues()) {
                out.add(h.name(), v);
            }
        }
        if (contentType != null) {
            out.add("Content-Type", contentType);
        }
        out.add(X_REQUEST_ID, requestId.forWorker());
        if (traceparent != null) {
            out.add("traceparent", traceparent);
            String tracestate = trace.tracestate();
            if (tracestate != null) {
                out.add("tracestate", tracestate);
            }
        }
        if (authorization != null) {
            out.add("Authorization", authorization);
        }
        if (dpRank >= 0) {
            out.add(X_DATA_PARALLEL_RANK, Integer.toString(dpRank));
        }
    }

    /** Copies the worker's response headers that may reach the client. */
    public static void toClient(WireHeaders worker, ClientSink sink) {
        Set<String> connectionListed = null;
        String connection = worker.first("Connection");
        if (connection != null) {
            connectionListed = tokens(connection);
        }
        for (int i = 0; i < worker.size(); i++) {
            String name = worker.name(i).toLowerCase(Locale.ROOT);
            if (RESPONSE_DROPPED.contains(name) || (connectionListed != null && connectionListed.contains(name))
                    || name.startsWith("access-control-")) { // CORS is the router's (--cors-allowed-origins)
                continue;
            }
            sink.header(worker.name(i), worker.value(i));
        }
    }

    private static Set<String> connectionTokens(Headers headers) {
        if (!headers.contains(HeaderNames.CONNECTION)) {
            return null;
        }
        Set<String> tokens = new HashSet<>();
        for (String v : headers.get(HeaderNames.CONNECTION).allValues()) {
            Set<String> t = tokens(v);
            if (t != null) {
                tokens.addAll(t);
            }
        }
        return tokens.isEmpty() ? null : tokens;
    }

    /** The header names a {@code Connection} value lists (besides close / keep-alive), or {@code null}. */
    private static Set<String> tokens(String connectionValue) {
        Set<String> tokens = null;
        for (String t : connectionValue.split(",")) {
            String token = t.trim().toLowerCase(Locale.ROOT);
            if (!token.isEmpty() && !token.equals("close") && !token.equals("keep-alive")) {
                if (tokens == null) {
                    tokens = new HashSet<>();
                }
                tokens.add(token);
            }
        }
        return tokens;
    }
}
