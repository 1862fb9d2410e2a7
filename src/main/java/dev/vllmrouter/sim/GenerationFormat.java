package dev.vllmrouter.sim;

/**
 * Renders chat-completion and text-completion JSON exactly in vLLM's (v0.11) shapes, straight into a
 * {@link ByteSink}.
 *
 * <ul>
 *   <li>Non-streaming bodies carry every field, nulls included ({@code model_dump()}).</li>
 *   <li>Chat chunks carry only fields vLLM sets ({@code exclude_unset}): no {@code stop_reason} before the
 *       finish chunk, no {@code usage} unless {@code continuous_usage_stats}.</li>
 *   <li>Completion chunks carry every field, {@code "usage":null} unless continuous usage is on.</li>
 *   <li>The usage-only chunk has {@code "choices":[]} and usage without nulls.</li>
 *   <li>{@code usage.prompt_tokens_details} is {@code {"cached_tokens":N}} when the worker reports cached
 *       tokens (N &gt; 0 and details enabled), otherwise null in full bodies and absent from the usage-only
 *       chunk; continuous-usage chunks never carry it (vLLM adds it only to the final usage).</li>
 * </ul>
 * The per-response prefix ({@code id}, {@code object}, {@code created}, {@code model}) is rendered once, so
 * every chunk of a response shares id and created.
 *
 * <p>Not thread-safe; one instance per response.
 */
final class GenerationFormat {
    private static final byte[] ROLE_CHOICE = ByteSink.bytes(
            "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]");
    private static final byte[] CHAT_TOKEN_OPEN = ByteSink.bytes("{\"index\":0,\"delta\":{\"content\":\"");
    private static final byte[] CHAT_TOKEN_CLOSE = ByteSink.bytes("\"},\"logprobs\":null,\"finish_reason\":");
    private static final byte[] TEXT_TOKEN_OPEN = ByteSink.bytes("{\"index\":0,\"text\":\"");
    private static final byte[] TEXT_TOKEN_CLOSE = ByteSink.bytes("\",\"logprobs\":null,\"finish_reason\":");
    private static final byte[] TEXT_TOKEN_TAIL = ByteSink.bytes(
            ",\"stop_reason\":null,\"prompt_token_ids\":null,\"token_ids\":null}]");
    private static final byte[] NO_FINISH_CHAT = ByteSink.bytes("null}]");
    private static final byte[] NO_FINISH_TEXT = ByteSink.bytes("null");
    private static final byte[] FINISH_CHAT_TAIL = ByteSink.bytes(",\"stop_reason\":null}]");

    private final boolean chat;
    private final byte[] chunkPrefix;
    private final GenerationRequest request;
    private final long created;
    private final int cachedTokens;

    /**
     * @param cachedTokens the {@code cached_tokens} to report; 0 reports none (vLLM's rule: details only when
     *                     enabled and N &gt; 0, which the caller has applied)
     */
    GenerationFormat(GenerationRequest request, long created, int cachedTokens) {
        this.chat = request.chat();
        this.request = request;
        this.created = created;
        this.cachedTokens = cachedTokens;
        this.chunkPrefix = new ByteSink(160)
                .ascii("{\"id\":").jsonString(request.id())
                .ascii(chat ? ",\"object\":\"chat.completion.chunk\"" : ",\"object\":\"text_completion\"")
                .ascii(",\"created\":").append(created)
                .ascii(",\"model\":").jsonString(request.model())
                .ascii(",\"choices\":[").toByteArray();
    }

    /** Chat's first chunk: the assistant role with empty content. */
    void roleChunk(ByteSink s, boolean usage) {
        s.append(chunkPrefix).append(ROLE_CHOICE);
        tail(s, usage, 0);
    }

    /**
     * One generated token; when {@code finishLength} the chunk also ends the choice with finish reason
     * "length" (vLLM delivers the last token and the finish reason together).
     */
    void tokenChunk(ByteSink s, byte[] token, boolean finishLength, boolean usage, int completionTokens) {
        s.append(chunkPrefix).append(chat ? CHAT_TOKEN_OPEN : TEXT_TOKEN_OPEN).append(token)
                .append(chat ? CHAT_TOKEN_CLOSE : TEXT_TOKEN_CLOSE);
        finish(s, finishLength ? "length" : null);
        tail(s, usage, completionTokens);
    }

    /** The end of a choice that stopped by itself (EOS decodes to empty text), finish reason "stop". */
    void stopChunk(ByteSink s, boolean usage, int completionTokens) {
        s.append(chunkPrefix).append(chat ? CHAT_TOKEN_OPEN : TEXT_TOKEN_OPEN)
                .append(chat ? CHAT_TOKEN_CLOSE : TEXT_TOKEN_CLOSE);
        finish(s, "stop");
        tail(s, usage, completionTokens);
    }

    /** The usage-only chunk sent when {@code stream_options.include_usage} is on. */
    void usageChunk(ByteSink s, int completionTokens) {
        s.append(chunkPrefix).ascii("],\"usage\":");
        usage(s, completionTokens, true, false);
        s.ascii("}");
    }

    private void finish(ByteSink s, String reason) {
        if (chat) {
            if (reason == null) {
                s.append(NO_FINISH_CHAT);
            } else {
                s.ascii("\"").ascii(reason).ascii("\"").append(FINISH_CHAT_TAIL);
            }
        } else {
            if (reason == null) {
                s.append(NO_FINISH_TEXT);
            } else {
                s.ascii("\"").ascii(reason).ascii("\"");
            }
            s.append(TEXT_TOKEN_TAIL);
        }
    }

    private void tail(ByteSink s, boolean usage, int completionTokens) {
        if (usage) {
            s.ascii(",\"usage\":");
            usage(s, completionTokens, false, false);
            s.ascii("}");
        } else {
            s.ascii(chat ? "}" : ",\"usage\":null}");
        }
    }

    /**
     * @param details whether this usage may carry {@code prompt_tokens_details} (final usage only)
     * @param nulls   render an absent value as null ({@code model_dump()}) instead of leaving the key out
     */
    private void usage(ByteSink s, int completionTokens, boolean details, boolean nulls) {
        int prompt = request.promptTokens();
        s.ascii("{\"prompt_tokens\":").append(prompt)
                .ascii(",\"total_tokens\":").append((long) prompt + completionTokens)
                .ascii(",\"completion_tokens\":").append(completionTokens);
        if (details && cachedTokens > 0) {
            s.ascii(",\"prompt_tokens_details\":{\"cached_tokens\":").append(cachedTokens).ascii("}");
        } else if (nulls) {
            s.ascii(",\"prompt_tokens_details\":null");
        }
        s.ascii("}");
    }

    /** The complete non-streaming body; {@code kvTransferParams} is rendered JSON or null. */
    byte[] fullBody(byte[] kvTransferParams) {
        int n = request.maxTokens();
        ByteSink s = new ByteSink(512 + n * 10);
        s.ascii("{\"id\":").jsonString(request.id())
                .ascii(chat ? ",\"object\":\"chat.completion\"" : ",\"object\":\"text_completion\"")
                .ascii(",\"created\":").append(created)
                .ascii(",\"model\":").jsonString(request.model())
                .ascii(chat ? ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
                        : ",\"choices\":[{\"index\":0,\"text\":\"");
        for (int i = 0; i < n; i++) {
            s.append(Tokens.filler(i));
        }
        s.ascii("\"");
        if (chat) {
            s.ascii(",\"refusal\":null,\"annotations\":null,\"audio\":null,\"function_call\":null"
                    + ",\"tool_calls\":[],\"reasoning_content\":null}");
        }
        s.ascii(",\"logprobs\":null,\"finish_reason\":\"").ascii(request.limitGiven() ? "length" : "stop")
                .ascii("\",\"stop_reason\":null");
        s.ascii(chat ? ",\"token_ids\":null}]"
                : ",\"prompt_logprobs\":null,\"prompt_token_ids\":null,\"token_ids\":null}]");
        s.ascii(",\"service_tier\":null,\"system_fingerprint\":null,\"usage\":");
        usage(s, n, true, true);
        if (chat) {
            s.ascii(",\"prompt_logprobs\":null,\"prompt_token_ids\":null");
        }
        s.ascii(",\"kv_transfer_params\":");
        if (kvTransferParams == null) {
            s.ascii("null");
        } else {
            s.append(kvTransferParams);
        }
        s.ascii("}");
        return s.toByteArray();
    }
}
