package dev.vllmrouter.sim;

import java.time.Duration;

/**
 * {@code POST /v1/chat/completions} and {@code POST /v1/completions}: deterministic filler output with vLLM's
 * body and SSE shapes (see {@link GenerationFormat}) and a simple latency model.
 *
 * <p>Latency model (configured, or overridden by {@link SimFaults#latency}): nothing is sent for {@code ttft};
 * then the stream opens (status, headers, chat's role chunk) and the first token follows at once; each further
 * token comes {@code interTokenLatency} after the previous one; the closing chunks follow the last token
 * immediately. A non-streaming answer is sent after {@code ttft + (n-1) * interTokenLatency}. (Real vLLM sends
 * the response head before generating; holding it back keeps "no byte before the first token" true for both
 * APIs and lets the hang fault keep the head back too.)
 *
 * <p>Prefix cache: once admitted (holding a scheduler slot), the request's prompt text is looked up in and
 * stored into the worker's {@link PrefixCacheModel}. The hit becomes {@code usage.prompt_tokens_details}
 * (when {@code enablePromptTokensDetails} and N &gt; 0) and shortens prefill: time to first token is
 * {@code ttft + prefillPerToken * uncached prompt tokens}.
 *
 * <p>Stream event order: chat role chunk; one chunk per token (the last one carries finish reason "length"
 * when the request capped the length); otherwise a finish chunk with empty content and finish reason "stop";
 * the usage-only chunk when {@code include_usage}; {@code [DONE]}.
 *
 * <p>PD disaggregation: a non-streaming request with {@code kv_transfer_params.do_remote_decode: true} is
 * answered with NIXL-style {@code kv_transfer_params} (engine id = worker id, host = listen host,
 * port 5600, block ids derived from the prompt size), as a vLLM prefill instance would; with the MoRI-IO connector
 * on, {@link SimMoriio} checks both legs and answers its own parameters.
 */
final class GenerationRoute implements InferencePipeline.Route<GenerationRequest> {
    private static final int NIXL_SIDE_CHANNEL_PORT = 5600;

    private final boolean chat;
    private final SimContext ctx;

    GenerationRoute(boolean chat, SimContext ctx) {
        this.chat = chat;
        this.ctx = ctx;
    }

    @Override
    public GenerationRequest parse(Call call) {
        return GenerationRequest.parse(chat, call);
    }

    @Override
    public boolean streaming(GenerationRequest request) {
        return request.stream();
    }

    @Override
    public void respond(GenerationRequest request, Call call) {
        SimConfig config = ctx.config;
        byte[] moriioParams = null;
        if (ctx.moriio.mode() != null && request.kvTransferParams() != null) {
            if (request.remoteDecode()) {
                moriioParams = ByteSink.bytes(ctx.moriio.prefill(request.kvTransferParams(), call.requestId));
            } else if (request.kvTransferParams().path("do_remote_prefill").asBoolean(false)) {
                ctx.moriio.decode(request.kvTransferParams(), call.requestId);
            }
        }
        PrefixCacheModel.Lookup cache = request.tokenIds() != null
                ? ctx.prefixCache.lookupAndStore(request.tokenIds())
                : ctx.prefixCache.lookupAndStore(request.promptText());
        Duration ttft = ctx.faults.ttft(config.ttft())
                .plus(config.prefillPerToken().multipliedBy(cache.uncachedTokens()));
        Duration itl = ctx.faults.interTokenLatency(config.interTokenLatency());
        ctx.stats.promptTokens.add(request.promptTokens());
        int reportedCached = config.enablePromptTokensDetails() ? cache.cachedTokens() : 0;
        GenerationFormat format = new GenerationFormat(request, Call.nowSeconds(), reportedCached);
        if (request.stream()) {
            stream(request, call, format, ttft, itl);
            return;
        }
        int n = request.maxTokens();
        ctx.pause(ttft.plus(itl.multipliedBy(n - 1L)));
        byte[] body = format.fullBody(!request.remoteDecode() ? null
                : moriioParams != null ? moriioParams : kvTransferParams(request));
        ctx.stats.generationTokens.add(n);
        ctx.stats.finished(request.limitGiven());
        call.sendJson(body);
    }

    private void stream(GenerationRequest request, Call call, GenerationFormat format, Duration ttft,
                        Duration itl) {
        SseWriter sse = new SseWriter(call);
        boolean usage = request.continuousUsage();
        int n = request.maxTokens();
        ctx.pause(ttft);
        if (chat) {
            format.roleChunk(sse.begin(), usage);
            sse.send();
        }
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                ctx.pause(itl);
            }
            format.tokenChunk(sse.begin(), Tokens.filler(i), request.limitGiven() && i == n - 1, usage, i + 1);
            sse.send();
            ctx.stats.generationTokens.increment();
        }
        if (!request.limitGiven()) {
            format.stopChunk(sse.begin(), usage, n);
            sse.send();
        }
        if (request.includeUsage()) {
            format.usageChunk(sse.begin(), n);
            sse.send();
        }
        sse.done();
        ctx.stats.finished(request.limitGiven());
    }

    private byte[] kvTransferParams(GenerationRequest request) {
        int blockSize = ctx.config.blockSize();
        int blocks = Math.max(1, (request.promptTokens() + blockSize - 1) / blockSize);
        long first = Integer.toUnsignedLong(request.id().hashCode()) % 100_000;
        ByteSink s = new ByteSink(256);
        s.ascii("{\"do_remote_prefill\":true,\"do_remote_decode\":false,\"remote_block_ids\":[");
        for (int i = 0; i < blocks; i++) {
            if (i > 0) {
                s.ascii(",");
            }
            s.append(first + i);
        }
        s.ascii("],\"remote_engine_id\":").jsonString(ctx.workerId())
                .ascii(",\"remote_request_id\":").jsonString(request.id())
                .ascii(",\"remote_host\":").jsonString(ctx.config.host())
                .ascii(",\"remote_port\":").append(NIXL_SIDE_CHANNEL_PORT)
                .ascii(",\"tp_size\":1}");
        return s.toByteArray();
    }
}
