package dev.vllmrouter.tokenize;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

/**
 * The prompt token ids a vLLM worker computes for a request, computed in the router: one model's chat template
 * ({@link ChatTemplate}) and tokenizer (Hugging Face's Rust tokenizers through DJL), loaded from a Hugging Face
 * model directory ({@code tokenizer.json}; {@code chat_template.jinja} or {@code tokenizer_config.json}'s
 * {@code chat_template}; the special tokens of {@code tokenizer_config.json}).
 * <ul>
 *   <li>{@link #chat}: vLLM's {@code /v1/chat/completions}: the template renders the conversation ({@link VllmChat}),
 *       then the text is encoded with {@code add_special_tokens} false (the template carries them) unless the
 *       request sets it;</li>
 *   <li>{@link #completion}: vLLM's {@code /v1/completions}: a text prompt is encoded with {@code add_special_tokens}
 *       true unless the request sets it false (the tokenizer's post-processor decides what that adds: Llama 3's
 *       {@code <|begin_of_text|>}, nothing for Qwen); a prompt of token ids is taken as it is;</li>
 *   <li>{@code truncate_prompt_tokens} (k): the last k ids, as vLLM keeps them.</li>
 * </ul>
 * Encoding ({@link #encode}, and so {@link #chat} and {@link #completions}) asks the native library for ids only
 * (no offsets, masks or token strings cross JNI). Without {@code add_special_tokens}, a text is cut after each
 * special token where {@link SpecialTokenCuts} proves the cut exact, and each segment's ids are kept in a bounded
 * {@link SegmentCache}: a new turn of a conversation encodes only its new messages; the ids are the same as the
 * whole text's. A tokenizer that cannot be proven cut-safe is encoded whole ({@link #segmentRefusal}).
 * <p>
 * Thread-safe: the template and the native tokenizer are shared, each call allocates its own state. The native
 * library comes out of DJL's jar (extracted once into DJL's cache directory, {@code ENGINE_CACHE_DIR} or
 * {@code ~/.djl.ai}); DJL's telemetry check (a call to the EC2 metadata address) is switched off before the first
 * tokenizer is made, and nothing is downloaded.
 */
public final class PromptTokenizer implements AutoCloseable {
    static {
        // DJL "calls home" (EC2 metadata, then an S3 URL) when a tokenizer is created unless told not to
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        if (System.getProperty("offline") == null) {
            System.setProperty("offline", "true");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Bytes of segments (text and ids) kept per tokenizer unless told otherwise: some 5 million tokens. */
    public static final long DEFAULT_CACHE_BYTES = 64L << 20;

    /**
     * DJL's GPU probe (run when the first tokenizer loads) warns "Failed to detect GPU count" on machines with a
     * CUDA runtime but no usable GPU; a tokenizer never uses a GPU, so only that class's warnings are dropped
     * (its errors still show). Held strongly: java.util.logging keeps loggers weakly.
     */
    private static final Logger DJL_GPU_PROBE = Logger.getLogger("ai.djl.util.cuda.CudaUtils");

    /** What the segment cache holds and how it fared; a snapshot. */
    public record CacheStats(long entries, long bytes, long capacityBytes, long hits, long misses, long evictions) {
    }

    private final Path directory;
    private final HuggingFaceTokenizer tokenizer;
    private final ChatTemplate template;
    private final ChatTemplate toolTemplate;
    private final VllmChat.ContentFormat contentFormat;
    private final Map<String, Object> specialTokens;
    private final SpecialTokenCuts cuts;
    private final SegmentCache cache;
    private final AnswerWrap answerWrap;
    private final java.util.concurrent.atomic.LongAdder warmedAnswers = new java.util.concurrent.atomic.LongAdder();

    private PromptTokenizer(Path directory, HuggingFaceTokenizer tokenizer, ChatTemplate template,
                            ChatTemplate toolTemplate, VllmChat.ContentFormat contentFormat,
                            Map<String, Object> specialTokens, SpecialTokenCuts cuts, long cacheBytes) {
        this.directory = directory;
        this.tokenizer = tokenizer;
        this.template = template;
        this.toolTemplate = toolTemplate;
        this.contentFormat = contentFormat;
        this.specialTokens = specialTokens;
        this.cuts = cacheBytes > 0 ? cuts : SpecialTokenCuts.refused("the segment cache is off");
        this.cache = this.cuts.usable() ? new SegmentCache(cacheBytes) : null;
        this.answerWrap = template == null || cache == null ? null : AnswerWrap.probe(this::chatPrompt, this.cuts);
    }

    /**
     * Encodes a worker's answer the way it will come back as history in the conversation's next request, into the
     * segment cache, so that request encodes only its new question. Call when the answer is complete (off the
     * request's path). The CPU is the same the next request would spend; it moves off that request's critical path
     * (and is spent for nothing if the conversation ends). Does nothing without a learned {@link AnswerWrap}.
     *
     * @return whether segments were encoded (false when there is no wrap, or every segment was cached already)
     */
    public boolean warmAnswer(String content) {
        if (answerWrap == null || content == null || content.isEmpty()) {
            return false;
        }
        String text = answerWrap.prefix() + content + answerWrap.suffix();
        boolean encoded = false;
        int from = 0;
        for (int end : cuts.segmentEnds(text)) {
            String segment = text.substring(from, end);
            if (!cache.contains(segment)) {
                cache.put(segment, encodeWhole(segment, false));
                encoded = true;
            }
            from = end;
        }
        if (encoded) {
            warmedAnswers.increment();
        }
        return encoded;
    }

    /** Whether {@link #warmAnswer} can encode answers ahead (a chat template whose answer segment was learned). */
    public boolean warmsAnswers() {
        return answerWrap != null;
    }

    /** Answers {@link #warmAnswer} encoded ahead of their conversation's next turn. */
    public long warmedAnswers() {
        return warmedAnswers.sum();
    }

    /** The learned {@link AnswerWrap}, if any (tests). */
    Optional<AnswerWrap> answerWrap() {
        return Optional.ofNullable(answerWrap);
    }

    /**
     * Loads a Hugging Face model directory, with a segment cache of {@link #DEFAULT_CACHE_BYTES}.
     *
     * @throws TokenizerLoadException with one line saying what is missing or unreadable
     */
    public static PromptTokenizer load(Path directory, Clock clock) {
        return load(directory, clock, DEFAULT_CACHE_BYTES);
    }

    /**
     * Loads a Hugging Face model directory.
     *
     * @param cacheBytes the bound of the segment cache (ids of earlier turns); 0 turns it off
     * @throws TokenizerLoadException with one line saying what is missing or unreadable
     */
    public static PromptTokenizer load(Path directory, Clock clock, long cacheBytes) {
        if (!Files.isDirectory(directory)) {
            throw new TokenizerLoadException(directory + " is not a directory");
        }
        Path tokenizerJson = directory.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new TokenizerLoadException(directory + " has no tokenizer.json (a Hugging Face model directory "
                    + "with tokenizer.json and tokenizer_config.json or chat_template.jinja is needed)");
        }
        JsonNode config = readConfig(directory.resolve("tokenizer_config.json"));
        String source = null;
        String toolSource = null;
        Path jinja = directory.resolve("chat_template.jinja");
        try {
            if (Files.isRegularFile(jinja)) {
                source = Files.readString(jinja, StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new TokenizerLoadException("cannot read " + jinja + ": " + e.getMessage());
        }
        JsonNode configured = config.get("chat_template");
        if (source == null && configured != null && configured.isTextual()) {
            source = configured.asText();
        } else if (source == null && configured instanceof ArrayNode named) {
            // a list of {name, template}: "default" unless the request has tools and a "tool_use" exists
            for (JsonNode entry : named) {
                String name = entry.path("name").asText();
                if (name.equals("default")) {
                    source = entry.path("template").asText();
                } else if (name.equals("tool_use")) {
                    toolSource = entry.path("template").asText();
                }
            }
        }
        ChatTemplate template;
        ChatTemplate toolTemplate;
        try {
            template = source == null ? null : new ChatTemplate(source, clock);
            toolTemplate = toolSource == null ? template : new ChatTemplate(toolSource, clock);
        } catch (TemplateException e) {
            throw new TokenizerLoadException(directory + ": " + e.getMessage());
        }
        SpecialTokenCuts cuts;
        try {
            cuts = SpecialTokenCuts.analyse(TokenizerSpec.read(tokenizerJson));
        } catch (IOException | RuntimeException e) {
            throw new TokenizerLoadException("cannot read " + tokenizerJson + ": " + e.getMessage());
        }
        HuggingFaceTokenizer tokenizer;
        try {
            if (DJL_GPU_PROBE.getLevel() == null || DJL_GPU_PROBE.getLevel().intValue() < Level.SEVERE.intValue()) {
                DJL_GPU_PROBE.setLevel(Level.SEVERE); // set again each load: a LogManager.reset() forgets it
            }
            tokenizer = HuggingFaceTokenizer.newInstance(tokenizerJson, Map.of(
                    "addSpecialTokens", "false",
                    "truncation", "false", // DJL would otherwise cut every prompt at 512 tokens
                    "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new TokenizerLoadException("cannot load " + tokenizerJson + ": " + e.getMessage());
        }
        VllmChat.ContentFormat format = VllmChat.ContentFormat.detect(source == null ? "" : source);
        return new PromptTokenizer(directory, tokenizer, template, toolTemplate, format, specialTokens(config), cuts,
                cacheBytes);
    }

    private static JsonNode readConfig(Path file) {
        if (!Files.isRegularFile(file)) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new TokenizerLoadException("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** transformers' {@code special_tokens_map}: the named special tokens that are set, as strings. */
    private static Map<String, Object> specialTokens(JsonNode config) {
        Map<String, Object> tokens = new LinkedHashMap<>();
        for (String name : List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                "mask_token")) {
            String value = tokenText(config.get(name));
            if (value != null) {
                tokens.put(name, value);
            }
        }
        JsonNode additional = config.get("additional_special_tokens");
        if (additional instanceof ArrayNode list && !list.isEmpty()) {
            List<String> names = new ArrayList<>();
            list.forEach(t -> {
                String value = tokenText(t);
                if (value != null) {
                    names.add(value);
                }
            });
            tokens.put("additional_special_tokens", names);
        }
        return Map.copyOf(tokens);
    }

    private static String tokenText(JsonNode token) {
        if (token == null || token.isNull()) {
            return null;
        }
        if (token.isTextual()) {
            return token.asText();
        }
        JsonNode content = token.get("content"); // an AddedToken written out as an object
        return content != null && content.isTextual() ? content.asText() : null;
    }

    /** The directory this tokenizer was loaded from. */
    public Path directory() {
        return directory;
    }

    /** Whether the directory had a chat template ({@link #chat} needs one). */
    public boolean hasChatTemplate() {
        return template != null;
    }

    /** The prompt text vLLM builds for a {@code /v1/chat/completions} body (before tokenization). */
    public String chatPrompt(JsonNode request) {
        if (template == null) {
            throw new TokenizeException("the model directory has no chat template");
        }
        if (request.path("continue_final_message").asBoolean(false)) {
            // transformers cuts the rendered text after the final message; not done here
            throw new TokenizeException("continue_final_message is not supported by the router's tokenizer");
        }
        Map<String, Object> vars = VllmChat.variables(request, specialTokens, contentFormat);
        ChatTemplate chosen = vars.get("tools") != null ? toolTemplate : template;
        return chosen.render(vars);
    }

    /** The prompt token ids vLLM computes for a {@code /v1/chat/completions} body. */
    public int[] chat(JsonNode request) {
        String prompt = chatPrompt(request);
        boolean special = request.path("add_special_tokens").asBoolean(false);
        return truncate(encode(prompt, special), request);
    }

    /** The prompt token ids of a {@code /v1/completions} body; of its first prompt when it has several. */
    public int[] completion(JsonNode request) {
        List<int[]> all = completions(request);
        if (all.isEmpty()) {
            throw new TokenizeException("the request has no prompt");
        }
        return all.getFirst();
    }

    /** The prompt token ids of each prompt of a {@code /v1/completions} body (a batch has several). */
    public List<int[]> completions(JsonNode request) {
        JsonNode prompt = request.get("prompt");
        boolean special = request.path("add_special_tokens").asBoolean(true);
        List<int[]> out = new ArrayList<>();
        if (prompt == null || prompt.isNull()) {
            throw new TokenizeException("the request has no prompt");
        }
        if (prompt.isTextual()) {
            out.add(encode(prompt.asText(), special));
        } else if (prompt instanceof ArrayNode list && !list.isEmpty() && list.get(0).isIntegralNumber()) {
            out.add(ids(list));
        } else if (prompt instanceof ArrayNode list) {
            for (JsonNode item : list) {
                if (item.isTextual()) {
                    out.add(encode(item.asText(), special));
                } else if (item instanceof ArrayNode ids) {
                    out.add(ids(ids));
                } else {
                    throw new TokenizeException("a prompt that is neither text nor token ids");
                }
            }
        } else {
            throw new TokenizeException("a prompt that is neither text nor token ids");
        }
        out.replaceAll(ids -> truncate(ids, request));
        return out;
    }

    private static int[] ids(ArrayNode list) {
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = list.get(i);
            if (!id.canConvertToInt()) {
                throw new TokenizeException("a token id that is not an integer");
            }
            ids[i] = id.asInt();
        }
        return ids;
    }

    private static int[] truncate(int[] ids, JsonNode request) {
        JsonNode k = request.get("truncate_prompt_tokens");
        if (k == null || !k.canConvertToInt() || k.asInt() < 0 || k.asInt() >= ids.length) {
            return ids;
        }
        int[] last = new int[k.asInt()];
        System.arraycopy(ids, ids.length - last.length, last, 0, last.length);
        return last;
    }

    /**
     * Encodes text with the model's tokenizer. Without {@code addSpecialTokens}, and when the tokenizer allows it,
     * segment by segment through the cache (the same ids as {@link #encodeWhole}).
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        if (addSpecialTokens || cache == null) {
            return encodeWhole(text, addSpecialTokens);
        }
        int[] ends = cuts.segmentEnds(text);
        if (ends.length <= 1) {
            return encodeWhole(text, false);
        }
        int[][] parts = new int[ends.length][];
        int total = 0;
        int from = 0;
        for (int i = 0; i < ends.length; i++) {
            String segment = text.substring(from, ends[i]);
            int[] ids = cache.get(segment);
            if (ids == null) {
                ids = encodeWhole(segment, false);
                cache.put(segment, ids);
            }
            parts[i] = ids;
            total += ids.length;
            from = ends[i];
        }
        int[] out = new int[total];
        int at = 0;
        for (int[] ids : parts) {
            System.arraycopy(ids, 0, out, at, ids.length);
            at += ids.length;
        }
        return out;
    }

    /** Encodes the text in one native call, no cache: ids only, nothing else crosses JNI. */
    public int[] encodeWhole(String text, boolean addSpecialTokens) {
        TokenizersLibrary lib = TokenizersLibrary.LIB;
        long encoding = lib.encode(tokenizer.getHandle(), text, addSpecialTokens);
        long[] ids;
        try {
            ids = lib.getTokenIds(encoding);
        } finally {
            lib.deleteEncoding(encoding);
        }
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /** Encodes with DJL's full {@code Encoding} (tokens, offsets, masks); the reference the fast paths are tested on. */
    int[] encodeWithDjl(String text, boolean addSpecialTokens) {
        long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /** Where {@link #encode} cuts {@code text} (segment ends), for tests. */
    int[] segmentEnds(String text) {
        return cuts.segmentEnds(text);
    }

    /** Why this tokenizer encodes texts whole instead of by cached segments, if it does. */
    public Optional<String> segmentRefusal() {
        return Optional.ofNullable(cuts.refusal());
    }

    /** The special tokens after which texts are cut into cached segments (none when refused). */
    public List<String> cutTokens() {
        return cuts.tokens();
    }

    /** Empties the segment cache (benchmarks of a first turn; a model directory reloaded). */
    public void clearSegmentCache() {
        if (cache != null) {
            cache.clear();
        }
    }

    /** The segment cache's counters; all zero when there is none. */
    public CacheStats cacheStats() {
        return cache == null ? new CacheStats(0, 0, 0, 0, 0, 0) : cache.stats();
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
