package dev.vllmrouter.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The parameters of the routing-quality simulation, with their defaults; any of them can be set by a
 * {@code name=value} argument (bench/quality.sh turns its environment variables into such arguments).
 *
 * @param workers           fleet size
 * @param conversations     conversations in the whole run
 * @param turns             turns (requests) per conversation
 * @param active            conversations in progress at once (the default-concurrency run)
 * @param lowActive         the same for the low-concurrency run
 * @param seed              seed of the workload (texts, start and think times) and of the policies' randomness
 * @param blockSize         tokens per KV block of the cache model
 * @param capacityBlocks    KV blocks of each worker's prefix cache
 * @param systemChars       chars of the system prompt every request starts with
 * @param userChars         chars of each user message
 * @param answerChars       chars of each assistant answer (as it appears in the next turn's prompt)
 * @param outputTokens      output tokens charged per request (decode time)
 * @param thinkMs           mean think time between an answer and the conversation's next turn (exponential)
 * @param prefillMsPerToken prefill time per uncached prompt token
 * @param decodeMsPerToken  decode time per output token
 * @param slowdown          service time stretch per request already in flight on the worker at dispatch
 */
record QualityParams(int workers, int conversations, int turns, int active, int lowActive, long seed, int blockSize,
                     int capacityBlocks, int systemChars, int userChars, int answerChars, int outputTokens,
                     double thinkMs, double prefillMsPerToken, double decodeMsPerToken, double slowdown) {

    static QualityParams parse(String[] args) {
        Map<String, String> v = new LinkedHashMap<>(defaults());
        for (String arg : args) {
            int eq = arg.indexOf('=');
            String name = eq < 0 ? "" : arg.substring(0, eq).trim().toLowerCase(Locale.ROOT).replace("-", "_");
            if (!v.containsKey(name)) {
                throw new IllegalArgumentException("unknown argument '" + arg + "' (expected name=value, names: "
                        + v.keySet() + ")");
            }
            v.put(name, arg.substring(eq + 1).trim());
        }
        QualityParams p = new QualityParams(i(v, "workers"), i(v, "conversations"), i(v, "turns"), i(v, "active"),
                i(v, "low_active"), Long.parseLong(v.get("seed")), i(v, "block_size"), i(v, "capacity_blocks"),
                i(v, "system_chars"), i(v, "user_chars"), i(v, "answer_chars"), i(v, "output_tokens"),
                d(v, "think_ms"), d(v, "prefill_ms_per_token"), d(v, "decode_ms_per_token"), d(v, "slowdown"));
        if (p.workers < 1 || p.conversations < 1 || p.turns < 1 || p.active < 1 || p.lowActive < 1) {
            throw new IllegalArgumentException("workers, conversations, turns, active, low_active must be >= 1");
        }
        return p;
    }

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("workers", "8");
        d.put("conversations", "400");
        d.put("turns", "6");
        d.put("active", "32");
        d.put("low_active", "4");
        d.put("seed", "42");
        d.put("block_size", "16");
        d.put("capacity_blocks", "4096");
        d.put("system_chars", "2048");
        d.put("user_chars", "400");
        d.put("answer_chars", "400");
        d.put("output_tokens", "32");
        d.put("think_ms", "1000");
        d.put("prefill_ms_per_token", "0.05");
        d.put("decode_ms_per_token", "20");
        d.put("slowdown", "0.05");
        return d;
    }

    private static int i(Map<String, String> v, String name) {
        return Integer.parseInt(v.get(name));
    }

    private static double d(Map<String, String> v, String name) {
        return Double.parseDouble(v.get(name));
    }

    /** The same parameters with another number of active conversations. */
    QualityParams withActive(int n) {
        return new QualityParams(workers, conversations, turns, n, lowActive, seed, blockSize, capacityBlocks,
                systemChars, userChars, answerChars, outputTokens, thinkMs, prefillMsPerToken, decodeMsPerToken,
                slowdown);
    }

    /**
     * The exact-index scenario's parameters: 4 workers with a quarter of {@code capacity_blocks} each (cache pressure:
     * the live conversations' histories no longer all fit, so workers evict), the rest as given.
     */
    QualityParams forKvIndex() {
        return new QualityParams(4, conversations, turns, active, lowActive, seed, blockSize,
                Math.max(1, capacityBlocks / 4), systemChars, userChars, answerChars, outputTokens, thinkMs,
                prefillMsPerToken, decodeMsPerToken, slowdown);
    }

    /** All parameters as {@code name=value} arguments, to reproduce the run. */
    String asArgs() {
        return String.format(Locale.ROOT, "workers=%d conversations=%d turns=%d active=%d low_active=%d seed=%d "
                        + "block_size=%d capacity_blocks=%d system_chars=%d user_chars=%d answer_chars=%d "
                        + "output_tokens=%d think_ms=%s prefill_ms_per_token=%s decode_ms_per_token=%s slowdown=%s",
                workers, conversations, turns, active, lowActive, seed, blockSize, capacityBlocks, systemChars,
                userChars, answerChars, outputTokens, thinkMs, prefillMsPerToken, decodeMsPerToken, slowdown);
    }
}
