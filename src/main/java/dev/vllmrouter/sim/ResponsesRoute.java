package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code POST /v1/responses}: a minimal, non-streaming OpenAI Responses API answer (one assistant message
 * with filler text, status "completed", usage), enough for a router to proxy and a client to parse.
 * {@code stream: true} is refused with 400 because the simulator does not implement the Responses event stream.
 * Latency: {@code ttft + (n-1) * interTokenLatency} before the answer, as for non-streaming completions.
 */
final class ResponsesRoute implements InferencePipeline.Route<ResponsesRoute.Request> {

    record Request(String model, String id, int inputTokens, int outputTokens) {
    }

    private final SimContext ctx;

    ResponsesRoute(SimContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Request parse(Call call) {
        call.requireJsonContentType();
        JsonNode body = call.json();
        String model = ctx.resolveModel(body);
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
            throw ApiError.missingField("input");
        }
        if (body.path("stream").asBoolean(false)) {
            throw ApiError.badRequest("sim-worker does not implement streaming for /v1/responses");
        }
        JsonNode max = body.get("max_output_tokens");
        int n = ctx.config.defaultMaxTokens();
        if (max != null && !max.isNull()) {
            if (!max.isIntegralNumber() || max.intValue() < 1) {
                throw ApiError.badRequest("max_output_tokens must be a positive integer");
            }
            n = max.intValue();
        }
        return new Request(model, "resp_" + call.idBase(body), Tokens.estimate(input), n);
    }

    @Override
    public boolean streaming(Request request) {
        return false;
    }

    @Override
    public void respond(Request r, Call call) {
        var itl = ctx.faults.interTokenLatency(ctx.config.interTokenLatency());
        ctx.pause(ctx.faults.ttft(ctx.config.ttft()).plus(itl.multipliedBy(r.outputTokens() - 1L)));
        ctx.stats.promptTokens.add(r.inputTokens());
        ctx.stats.generationTokens.add(r.outputTokens());
        ByteSink s = new ByteSink(512 + r.outputTokens() * 10);
        s.ascii("{\"id\":").jsonString(r.id())
                .ascii(",\"object\":\"response\",\"created_at\":").append(Call.nowSeconds())
                .ascii(",\"status\":\"completed\",\"model\":").jsonString(r.model())
                .ascii(",\"output\":[{\"id\":\"msg_").ascii(Call.randomHex())
                .ascii("\",\"type\":\"message\",\"role\":\"assistant\",\"status\":\"completed\"")
                .ascii(",\"content\":[{\"type\":\"output_text\",\"text\":\"");
        for (int i = 0; i < r.outputTokens(); i++) {
            s.append(Tokens.filler(i));
        }
        s.ascii("\",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":").append(r.inputTokens())
                .ascii(",\"output_tokens\":").append(r.outputTokens())
                .ascii(",\"total_tokens\":").append((long) r.inputTokens() + r.outputTokens())
                .ascii("}}");
        ctx.stats.finished(false);
        call.sendJson(s.toByteArray());
    }
}
