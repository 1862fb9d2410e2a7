package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Set;

/**
 * vLLM's non-inference endpoints, in their v0.11 shapes: {@code /health} and {@code /ping} (empty 200, or 503
 * when {@link SimFaults#healthy(boolean)} is off), {@code /v1/models}, {@code /load}, {@code /version},
 * {@code /metrics}, {@code /tokenize}, {@code /detokenize}, {@code /reset_prefix_cache}, and the fallback for
 * everything else (FastAPI's {@code {"detail":"Not Found"}} 404, or 405 for a known path with the wrong method).
 *
 * <p>None of them is subject to the failure/hang faults or counted as in-flight. Every request is recorded.
 */
final class InfoRoutes {
    static final int MAX_MODEL_LEN = 8192;
    private static final byte[] VERSION = ByteSink.bytes("{\"version\":\"0.11.0-sim\"}");

    private final SimContext ctx;
    private final Set<String> knownPaths;

    InfoRoutes(SimContext ctx, Set<String> knownPaths) {
        this.ctx = ctx;
        this.knownPaths = knownPaths;
    }

    /** A route body that runs after the request was read and recorded. */
    interface Body {
        void handle(Call call);
    }

    /** Wraps a route body so that the request is read and recorded first and {@link ApiError}s are answered. */
    Handler handler(Body body) {
        return (req, res) -> {
            Call call = Call.open(ctx, req, res);
            if (call == null) {
                return;
            }
            try {
                body.handle(call);
            } catch (ApiError e) {
                Replies.error(res, e);
            }
        };
    }

    /**
     * {@code GET /sim/bytes?size=N[&cut=M][&chunked=1]}: N bytes of {@code application/octet-stream} (with a
     * Content-Length, or chunked), and with {@code cut} the connection closed after M of them: a large answer and a
     * worker dying in the middle of one, for the router's memory and conformance checks. Not a vLLM route.
     */
    void bytes(Call call) {
        long size = longParam(call, "size", 0);
        long cut = longParam(call, "cut", -1);
        boolean chunked = call.req.query().contains("chunked");
        call.res.header(io.helidon.http.HeaderNames.CONTENT_TYPE, "application/octet-stream");
        if (!chunked) {
            call.res.header(io.helidon.http.HeaderNames.CONTENT_LENGTH, Long.toString(size));
        }
        byte[] piece = new byte[64 * 1024];
        java.util.Arrays.fill(piece, (byte) 'x');
        long end = cut >= 0 ? Math.min(cut, size) : size;
        java.io.OutputStream out = call.res.outputStream();
        try {
            for (long sent = 0; sent < end; sent += piece.length) {
                out.write(piece, 0, (int) Math.min(piece.length, end - sent));
            }
            out.flush();
            if (cut >= 0) { // not closed: closing would end the body properly
                throw new io.helidon.webserver.CloseConnectionException("sim-worker: answer cut after " + end
                        + " of " + size + " bytes");
            }
            out.close();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static long longParam(Call call, String name, long absent) {
        if (!call.req.query().contains(name)) {
            return absent;
        }
        try {
            return Long.parseLong(call.req.query().get(name));
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name + " must be a number");
        }
    }

    void health(Call call) {
        Replies.empty(call.res, ctx.faults.isHealthy() ? 200 : 503);
    }

    void load(Call call) {
        Replies.json(call.res, new ByteSink(32).ascii("{\"server_load\":").append(ctx.stats.inFlight.get())
                .ascii("}").toByteArray());
    }

    /**
     * Mooncake's bootstrap {@code /query}: the engine id of each DP rank. The simulator serves it on its own port, so a
     * router uses the worker's port as its bootstrap port ({@code --prefill URL <port>}).
     */
    void mooncakeQuery(Call call) {
        Replies.json(call.res, new ByteSink(64).ascii("{\"0\":{\"engine_id\":").jsonString(ctx.workerId())
                .ascii("}}").toByteArray());
    }

    /** MoRI-IO WRITE: a decode engine's block notification for one transfer ({@link SimMoriio}). */
    void moriioNotify(Call call) {
        com.fasterxml.jackson.databind.JsonNode t = call.json().get("transfer_id");
        if (t == null || !t.isTextual()) {
            throw ApiError.missingField("transfer_id");
        }
        ctx.moriio.notified(t.textValue());
        Replies.empty(call.res, 200);
    }

    void version(Call call) {
        Replies.json(call.res, VERSION);
    }

    void resetPrefixCache(Call call) {
        ctx.prefixCache.reset();
        Replies.empty(call.res, 200);
    }

    void metrics(Call call) {
        call.res.header(Replies.PROMETHEUS_CONTENT_TYPE);
        call.res.send(MetricsText.render(ctx));
    }

    void models(Call call) {
        long created = Call.nowSeconds();
        ByteSink s = new ByteSink(512 * ctx.config.models().size());
        s.ascii("{\"object\":\"list\",\"data\":[");
        boolean first = true;
        for (String model : ctx.config.models()) {
            s.ascii(first ? "" : ",").ascii("{\"id\":").jsonString(model)
                    .ascii(",\"object\":\"model\",\"created\":").append(created)
                    .ascii(",\"owned_by\":\"vllm\",\"root\":").jsonString(model)
                    .ascii(",\"parent\":null,\"max_model_len\":").append(MAX_MODEL_LEN)
                    .ascii(",\"permission\":[{\"id\":\"modelperm-").ascii(Call.randomHex())
                    .ascii("\",\"object\":\"model_permission\",\"created\":").append(created)
                    .ascii(",\"allow_create_engine\":false,\"allow_sampling\":true,\"allow_logprobs\":true"
                            + ",\"allow_search_indices\":false,\"allow_view\":true,\"allow_fine_tuning\":false"
                            + ",\"organization\":\"*\",\"group\":null,\"is_blocking\":false}]}");
            first = false;
        }
        s.ascii("]}");
        Replies.json(call.res, s.toByteArray());
    }

    /**
     * {@code /tokenize}: one token per 4 characters, with the ids of {@link Tokens#tokenId} (the ones the KV-cache
     * events carry);
     * {@code messages} are rendered as chat generation prompts ({@link PromptText#chat}), so the count matches
     * the {@code prompt_tokens} of the same chat request.
     */
    void tokenize(Call call) {
        call.requireJsonContentType();
        JsonNode body = call.json();
        ctx.resolveModel(body);
        boolean prompt = body.has("prompt");
        JsonNode input = prompt ? body.get("prompt") : body.get("messages");
        if (input == null || input.isNull()) {
            throw ApiError.missingField("prompt");
        }
        String text = !prompt ? PromptText.chat(input)
                : input.isTextual() ? input.textValue() : concatText(input, new StringBuilder()).toString();
        int[] ids = GenerationRequest.tokenIds(ctx, !prompt, body);
        if (ids != null) {
            ByteSink s = new ByteSink(64 + ids.length * 8);
            s.ascii("{\"count\":").append(ids.length).ascii(",\"max_model_len\":").append(MAX_MODEL_LEN)
                    .ascii(",\"tokens\":[");
            for (int i = 0; i < ids.length; i++) {
                s.ascii(i == 0 ? "" : ",").append(ids[i]);
            }
            Replies.json(call.res, s.ascii("],\"token_strs\":null}").toByteArray());
            return;
        }
        int count = Tokens.fromChars(text.length());
        boolean strs = body.path("return_token_strs").asBoolean(false);
        ByteSink s = new ByteSink(64 + count * 12);
        s.ascii("{\"count\":").append(count).ascii(",\"max_model_len\":").append(MAX_MODEL_LEN).ascii(",\"tokens\":[");
        for (int i = 0; i < count; i++) {
            s.ascii(i == 0 ? "" : ",").append(Tokens.tokenId(text, i));
        }
        s.ascii("],\"token_strs\":");
        if (strs) {
            s.ascii("[");
            for (int i = 0; i < count; i++) {
                s.ascii(i == 0 ? "" : ",").jsonString(piece(text, i));
            }
            s.ascii("]}");
        } else {
            s.ascii("null}");
        }
        Replies.json(call.res, s.toByteArray());
    }

    /** {@code /detokenize}: the simulator cannot invert its hash, so token {@code t} reads as {@code " token<t>"}. */
    void detokenize(Call call) {
        call.requireJsonContentType();
        JsonNode body = call.json();
        ctx.resolveModel(body);
        JsonNode tokens = body.get("tokens");
        if (tokens == null || !tokens.isArray()) {
            throw ApiError.missingField("tokens");
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode t : tokens) {
            if (!t.isIntegralNumber()) {
                throw ApiError.badRequest("tokens must be a list of integers");
            }
            text.append(" token").append(t.longValue());
        }
        Replies.json(call.res, new ByteSink(32 + text.length()).ascii("{\"prompt\":").jsonString(text.toString())
                .ascii("}").toByteArray());
    }

    /** Unknown path: 404; known path with an unsupported method: 405 (FastAPI's bodies). */
    void fallback(ServerRequest req, ServerResponse res) {
        Call call = Call.open(ctx, req, res);
        if (call == null) {
            return;
        }
        if (knownPaths.contains(req.path().rawPath())) {
            Replies.methodNotAllowed(res);
        } else {
            Replies.notFound(res);
        }
    }

    private static String piece(String text, int i) {
        int from = Math.min(text.length(), i * 4);
        return text.substring(from, Math.min(text.length(), from + 4));
    }

    private static StringBuilder concatText(JsonNode node, StringBuilder sb) {
        if (node.isTextual()) {
            sb.append(node.textValue());
        } else if (node.isContainerNode()) {
            for (JsonNode child : node) {
                concatText(child, sb);
            }
        }
        return sb;
    }
}
