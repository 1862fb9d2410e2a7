package dev.vllmrouter.sim;

import java.nio.charset.StandardCharsets;

/**
 * Renders {@code GET /metrics} as Prometheus text with vLLM v1's metric names, label sets and formatting:
 * labels {@code engine="0"} and {@code model_name="<first served model>"} in alphabetical order (as captured
 * from real servers), values printed as floats ({@code 3.0}), counters exported with {@code _total}.
 *
 * <p>Exported: {@code vllm:num_requests_running}, {@code vllm:num_requests_waiting} (from the scheduler),
 * {@code vllm:kv_cache_usage_perc} (blocks held by the {@link PrefixCacheModel} / its capacity, a 0..1
 * fraction; real vLLM counts only blocks of running requests, but the model's occupancy is the signal a
 * cache-aware router and a dashboard want to see move), {@code vllm:prefix_cache_queries_total} and
 * {@code vllm:prefix_cache_hits_total} (in tokens, from the same model), {@code vllm:prompt_tokens_total},
 * {@code vllm:generation_tokens_total}, {@code vllm:request_success_total} by {@code finished_reason}
 * (stop, length, abort). Order as in a real server's output.
 */
final class MetricsText {

    private MetricsText() {
    }

    static byte[] render(SimContext ctx) {
        String labels = "engine=\"0\",model_name=\"" + escape(ctx.config.defaultModel()) + "\"";
        int running = ctx.scheduler.running();
        PrefixCacheModel.Stats cache = ctx.prefixCache.stats();
        SimStats s = ctx.stats;
        StringBuilder sb = new StringBuilder(2048);
        gauge(sb, "vllm:num_requests_running", "Number of requests in model execution batches.", labels, running);
        gauge(sb, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels,
                ctx.scheduler.waiting());
        gauge(sb, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels,
                Math.min(1.0, cache.usage()));
        counter(sb, "vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.",
                labels, cache.queriedTokens());
        counter(sb, "vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.",
                labels, cache.hitTokens());
        counter(sb, "vllm:prompt_tokens_total", "Number of prefill tokens processed.", labels, s.promptTokens.sum());
        counter(sb, "vllm:generation_tokens_total", "Number of generation tokens processed.", labels,
                s.generationTokens.sum());
        header(sb, "vllm:request_success_total", "Count of successfully processed requests.", "counter");
        success(sb, "stop", s.finishedStop.sum(), ctx);
        success(sb, "length", s.finishedLength.sum(), ctx);
        success(sb, "abort", s.finishedAbort.sum(), ctx);
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void success(StringBuilder sb, String reason, long value, SimContext ctx) {
        sb.append("vllm:request_success_total{engine=\"0\",finished_reason=\"").append(reason)
                .append("\",model_name=\"").append(escape(ctx.config.defaultModel())).append("\"} ")
                .append((double) value).append('\n');
    }

    private static void gauge(StringBuilder sb, String name, String help, String labels, double value) {
        header(sb, name, help, "gauge");
        sb.append(name).append('{').append(labels).append("} ").append(value).append('\n');
    }

    private static void counter(StringBuilder sb, String name, String help, String labels, long value) {
        header(sb, name, help, "counter");
        sb.append(name).append('{').append(labels).append("} ").append((double) value).append('\n');
    }

    private static void header(StringBuilder sb, String name, String help, String type) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static String escape(String labelValue) {
        return labelValue.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
