package dev.vllmrouter.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.ServerRequestHeaders;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One HTTP exchange on the simulated worker: the request with its body read once (bounded by
 * {@code maxPayloadBytes}) and already recorded in the {@link RequestLog}, the response, and the per-request
 * state the pipeline needs (client-gone flag, close-after-response, mid-stream death point).
 *
 * <p>{@link #open} is the first thing every route handler does, so every request is recorded in arrival order,
 * including ones answered 413 (recorded with an empty body, as the body is never read).
 */
final class Call {
    static final HeaderName X_REQUEST_ID = HeaderNames.create("X-Request-Id");
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final byte[] EMPTY = new byte[0];
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    final SimContext ctx;
    final ServerRequest req;
    final ServerResponse res;
    final byte[] body;
    final String requestId;
    private volatile boolean clientGone;
    private boolean closeAfterResponse;
    private java.util.function.Consumer<Boolean> onSettled;
    private boolean settled;
    int dieAfterEvents = -1;

    private Call(SimContext ctx, ServerRequest req, ServerResponse res, byte[] body, String requestId) {
        this.ctx = ctx;
        this.req = req;
        this.res = res;
        this.body = body;
        this.requestId = requestId;
    }

    /** Reads and records the request; returns null when it was already answered (413). */
    static Call open(SimContext ctx, ServerRequest req, ServerResponse res) {
        ServerRequestHeaders headers = req.headers();
        String requestId = headers.first(X_REQUEST_ID).orElse(null);
        int max = ctx.config.maxPayloadBytes();
        long declared = headers.contentLength().orElse(-1L);
        byte[] body;
        boolean tooLarge = false;
        if (declared > max) {
            body = EMPTY;
            tooLarge = true;
        } else if (declared == 0 || !req.content().hasEntity()) {
            body = EMPTY;
        } else {
            try (InputStream in = req.content().inputStream()) {
                body = in.readNBytes(declared > 0 ? (int) declared : max + 1);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (body.length > max) {
                body = EMPTY;
                tooLarge = true;
            }
        }
        record(ctx, req, body, requestId);
        if (tooLarge) {
            Replies.error(res, ApiError.of(413, "Request body too large: the limit is " + max + " bytes."));
            return null;
        }
        return new Call(ctx, req, res, body, requestId);
    }

    private static void record(SimContext ctx, ServerRequest req, byte[] body, String requestId) {
        if (!ctx.log.storing()) {
            ctx.log.record(null);
            return;
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (Header h : req.headers()) {
            headers.computeIfAbsent(h.name().toLowerCase(Locale.ROOT), k -> new ArrayList<>(1))
                    .addAll(h.allValues());
        }
        headers.replaceAll((k, v) -> List.copyOf(v));
        String rawQuery = req.query().rawValue();
        ctx.log.record(new RecordedRequest(req.prologue().method().text(), req.path().rawPath(),
                rawQuery == null ? "" : rawQuery, Map.copyOf(headers), body, requestId));
    }

    /** vLLM only accepts {@code application/json} bodies on its JSON routes. */
    void requireJsonContentType() {
        String ct = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        int semi = ct.indexOf(';');
        String media = (semi >= 0 ? ct.substring(0, semi) : ct).trim();
        if (!media.equalsIgnoreCase("application/json")) {
            throw ApiError.badRequest("Unsupported Media Type: Only 'application/json' is allowed");
        }
    }

    /** The body as a JSON object; 400 when it is not one. */
    JsonNode json() {
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest("Invalid JSON in request body: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (node == null || !node.isObject()) {
            throw ApiError.badRequest("The request body must be a JSON object.");
        }
        return node;
    }

    /** vLLM's request id base: the X-Request-Id header, else the body's request_id, else 32 random hex. */
    String idBase(JsonNode json) {
        if (requestId != null) {
            return requestId;
        }
        JsonNode rid = json == null ? null : json.get("request_id");
        if (rid != null && rid.isTextual() && !rid.textValue().isEmpty()) {
            return rid.textValue();
        }
        return randomHex();
    }

    static String randomHex() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long a = r.nextLong();
        long b = r.nextLong();
        char[] out = new char[32];
        for (int i = 0; i < 16; i++) {
            out[i] = HEX[(int) (a >>> (60 - 4 * i)) & 0xF];
            out[16 + i] = HEX[(int) (b >>> (60 - 4 * i)) & 0xF];
        }
        return new String(out);
    }

    static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    boolean clientGone() {
        return clientGone;
    }

    /** Called by the disconnect watcher. */
    void markClientGone() {
        clientGone = true;
    }

    /**
     * The connection cannot be reused after this response (a disconnect watcher is reading it): announce
     * {@code Connection: close} now and close it once the response is complete ({@link #complete()}).
     */
    void closeAfterResponse() {
        closeAfterResponse = true;
        res.header(HeaderValues.CONNECTION_CLOSE);
    }

    /**
     * Ends a fully answered exchange; closes the connection when it was marked to close. Helidon writes a
     * stream's terminating chunk only when it commits the response after the handler returns, so a response
     * is committed here first; then {@link CloseConnectionException} makes Helidon close the socket.
     */
    void complete() {
        if (closeAfterResponse) {
            if (res instanceof RoutingResponse routing) {
                routing.commit();
            }
            throw new CloseConnectionException("connection was watched for disconnects; closing after response");
        }
    }

    /**
     * What to do once the outcome of this exchange is known (the worker's counters: served, in flight). It runs
     * exactly once, <em>before</em> the last bytes of the answer go out ({@link #sendJson}, the stream's
     * {@code [DONE]}, an error envelope) or, failing that, when the handler ends: a client that holds the whole
     * answer then always sees the counters that include it, as it would from vLLM's own {@code /metrics} once a
     * request has finished.
     */
    void onSettled(java.util.function.Consumer<Boolean> action) {
        this.onSettled = action;
    }

    /** Settles the exchange (see {@link #onSettled}); later calls do nothing. */
    void settle(boolean served) {
        if (settled) {
            return;
        }
        settled = true;
        if (onSettled != null) {
            onSettled.accept(served);
        }
    }

    /** Sends a successful JSON answer, settling the exchange first. */
    void sendJson(byte[] json) {
        settle(true);
        Replies.json(res, json);
    }

    /** Sends an error envelope, honouring close-after-response. */
    void fail(ApiError e) {
        settle(false);
        Replies.error(res, e);
        complete();
    }

    static ObjectMapper mapper() {
        return MAPPER;
    }
}
