package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What the simulator needs from a {@code /v1/chat/completions} or {@code /v1/completions} body, validated the
 * way vLLM validates it.
 *
 * <p>Rules (vLLM v0.10-v0.12): JSON object with {@code application/json} content type; {@code messages} (chat)
 * or {@code prompt} (completions) required; unknown {@code model} is 404, missing/empty model means the first
 * served model; {@code stream_options} with {@code stream != true} is 400; {@code stream_options.include_usage}
 * defaults to true when {@code stream_options} is present; {@code continuous_usage_stats} needs include_usage.
 * Output length = {@code max_completion_tokens} (chat) or {@code max_tokens} when given (finish reason
 * "length"), else the configured default (finish reason "stop", as if the model produced EOS).
 *
 * <p>Simplifications: one choice ({@code n} and batched prompts are not expanded); no context-length check.
 *
 * @param chat             chat API (else completions)
 * @param model            model name to answer with
 * @param id               response id, e.g. {@code chatcmpl-<X-Request-Id>}
 * @param stream           SSE response
 * @param includeUsage     final usage-only chunk
 * @param continuousUsage  usage on every chunk
 * @param maxTokens        number of output tokens
 * @param limitGiven       the request capped the length (finish reason "length")
 * @param promptTokens     prompt tokens of {@code promptText} ({@link PrefixCacheModel#promptTokens})
 * @param promptText       the prompt as the engine sees it ({@link PromptText}): what the prefix cache caches
 * @param kvTransferParams the request's {@code kv_transfer_params} (PD disaggregation), or null
 * @param tokenIds         the prompt's token ids from the worker's tokenizer ({@code --tokenizer-path}), or null when
 *                         the simulator's own tokenization of {@code promptText} applies
 */
record GenerationRequest(boolean chat, String model, String id, boolean stream, boolean includeUsage,
                         boolean continuousUsage, int maxTokens, boolean limitGiven, int promptTokens,
                         String promptText, JsonNode kvTransferParams, int[] tokenIds) {

    static GenerationRequest parse(boolean chat, Call call) {
        call.requireJsonContentType();
        JsonNode body = call.json();
        String model = call.ctx.resolveModel(body);
        JsonNode input = body.get(chat ? "messages" : "prompt");
        if (input == null || input.isNull()) {
            throw ApiError.missingField(chat ? "messages" : "prompt");
        }
        if (chat && !input.isArray()) {
            throw ApiError.badRequest("messages must be a list of chat messages");
        }
        boolean stream = body.path("stream").asBoolean(false);
        JsonNode options = body.get("stream_options");
        boolean includeUsage = false;
        boolean continuous = false;
        if (options != null && !options.isNull()) {
            if (!stream) {
                throw ApiError.badRequest("Stream options can only be defined when `stream=True`.");
            }
            includeUsage = options.path("include_usage").asBoolean(true);
            continuous = options.path("continuous_usage_stats").asBoolean(false);
            if (continuous && !includeUsage) {
                throw ApiError.badRequest("continuous_usage_stats requires include_usage to be true");
            }
        }
        Integer limit = null;
        if (chat) {
            limit = optionalPositiveInt(body, "max_completion_tokens");
        }
        if (limit == null) {
            limit = optionalPositiveInt(body, "max_tokens");
        }
        boolean limitGiven = limit != null;
        int maxTokens = limitGiven ? limit : call.ctx.config.defaultMaxTokens();
        String id = (chat ? "chatcmpl-" : "cmpl-") + call.idBase(body);
        JsonNode kv = body.get("kv_transfer_params");
        String text = chat ? PromptText.chat(input) : PromptText.completion(input);
        int[] ids = tokenIds(call.ctx, chat, body);
        return new GenerationRequest(chat, model, id, stream, includeUsage, continuous, maxTokens, limitGiven,
                ids != null ? Math.max(1, ids.length) : PrefixCacheModel.promptTokens(text), text,
                kv == null || kv.isNull() ? null : kv, ids);
    }

    /**
     * The token ids of the worker's tokenizer, when it has one; {@code null} (the simulator's own tokenization) for a
     * request the tokenizer cannot handle (images, its own chat template): the simulator stays lenient there.
     */
    static int[] tokenIds(SimContext ctx, boolean chat, JsonNode body) {
        if (ctx.tokenizer == null) {
            return null;
        }
        try {
            return chat ? ctx.tokenizer.chat(body) : ctx.tokenizer.completion(body);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static Integer optionalPositiveInt(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw ApiError.badRequest(field + " must be an integer");
        }
        int n = v.intValue();
        if (n < 1) {
            throw ApiError.badRequest(field + " must be at least 1, got " + n + ".");
        }
        return n;
    }

    /** The request asks this (prefill) worker to keep its KV cache for a remote decode worker. */
    boolean remoteDecode() {
        return kvTransferParams != null && kvTransferParams.path("do_remote_decode").asBoolean(false);
    }
}
