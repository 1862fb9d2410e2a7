package dev.vllmrouter.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import dev.vllmrouter.tokenize.PromptTokenizer;

/**
 * Router-side tokenization per request: a {@code /v1/chat/completions} body of {@code promptSize} characters of
 * message content (a 1 KiB system prompt, then user and assistant turns of pseudo-random words with some non-ASCII)
 * on a real model's files (src/test/resources/tokenize/&lt;model&gt;, found from the working directory, which
 * bench/jmh.sh sets to the repository root). Every {@code chat*} case is what one request costs: parse the body
 * bytes into a tree, render the chat template, encode.
 * <ul>
 *   <li>{@code chatBefore}: the first implementation: DJL's {@code encode} of the whole prompt (ids, tokens,
 *       offsets and masks copied across JNI), no cache;</li>
 *   <li>{@code chatCold}: a first turn: the segment cache emptied before each call;</li>
 *   <li>{@code chatNextTurn}: the next turn of a conversation whose earlier turn went through the router: the
 *       history's segments are cached, the previous answer (~1,400 characters) and the new question (~600) are new
 *       text in every call;</li>
 *   <li>{@code chatNextTurnWarmed}: the same, but the previous answer was encoded when it passed through the router
 *       ({@code warmAnswer}, not measured here): only the question is new;</li>
 *   <li>{@code warmAnswer}: encoding an answer of ~1,400 characters ahead (off the next request's path);</li>
 *   <li>{@code chatRepeat}: the same body again (every segment cached): what is left besides encoding;</li>
 *   <li>{@code template}: the template render alone (from the parsed tree);</li>
 *   <li>{@code encode}: the whole rendered prompt in one native call, ids only, no cache;</li>
 *   <li>{@code encodeDjl}: the same through DJL's {@code Encoding}.</li>
 * </ul>
 * The native encode is single-threaded (one call, no batch), so time here is CPU time of the calling thread; the
 * {@code -prof gc} profiler gives the allocation per request.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class TokenizeBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = {
        "the", "model", "router", "cache", "token", "prefix", "worker", "request", "answer", "question", "latency",
        "batch", "decode", "prefill", "memory", "block", "kernel", "tensor", "layer", "attention", "weights", "queue",
        "stream", "python", "java", "deploy", "cluster", "node", "replica", "shard", "throughput", "please",
        "explain", "why", "how", "when", "which", "could", "would", "should", "about", "with", "between", "example",
        "summary", "détail", "café", "Zürich", "缓存", "路由器", "😀", "naïve", "config", "value", "result", "42"};

    @Param({"2048", "32768", "131072"})
    public int promptSize;

    @Param({"qwen3", "llama3_1"})
    public String model;

    private Path dir;
    private PromptTokenizer tokenizer;
    private HuggingFaceTokenizer djl;
    private byte[] body;
    private JsonNode request;
    private String prompt;
    /** The conversation without its last answer and question: the previous turn. */
    private byte[] previousBody;
    /** The next turn's body around its last answer and question: [head, middle, tail] to put them between. */
    private byte[][] nextTurnFrame;
    /** Words the fresh answers and questions are cut from. */
    private String freshText;
    private SplittableRandom fresh;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("tokenize-bench");
        Path source = Path.of(System.getProperty("vllmrouter.root", ".")).resolve("src/test/resources/tokenize")
                .resolve(model);
        try (InputStream in = new GZIPInputStream(Files.newInputStream(source.resolve("tokenizer.json.gz")))) {
            Files.copy(in, dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.copy(source.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        tokenizer = PromptTokenizer.load(dir, Clock.systemUTC());
        djl = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"), java.util.Map.of(
                "addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        ObjectNode conversation = conversation(promptSize, 7);
        body = JSON.writeValueAsBytes(conversation);
        request = JSON.readTree(body);
        prompt = tokenizer.chatPrompt(request);
        ObjectNode previous = conversation.deepCopy();
        ArrayNode messages = (ArrayNode) previous.get("messages");
        messages.remove(messages.size() - 1);
        messages.remove(messages.size() - 1);
        previousBody = JSON.writeValueAsBytes(previous);
        ObjectNode frame = conversation.deepCopy();
        ArrayNode framed = (ArrayNode) frame.get("messages");
        ((ObjectNode) framed.get(framed.size() - 2)).put("content", "@@ANSWER@@");
        ((ObjectNode) framed.get(framed.size() - 1)).put("content", "@@QUESTION@@");
        String text = JSON.writeValueAsString(frame);
        int a = text.indexOf("@@ANSWER@@");
        int q = text.indexOf("@@QUESTION@@");
        nextTurnFrame = new byte[][] {
            text.substring(0, a).getBytes(StandardCharsets.UTF_8),
            text.substring(a + "@@ANSWER@@".length(), q).getBytes(StandardCharsets.UTF_8),
            text.substring(q + "@@QUESTION@@".length()).getBytes(StandardCharsets.UTF_8)};
        freshText = words(new SplittableRandom(11), 1 << 20).replace("\n", " ").replace("\"", " ");
        fresh = new SplittableRandom(13);
    }

    /**
     * The body of the next turn: the history, then an answer (~1,400 characters) and a question (~600) cut from
     * random places of a long text, so each is new to the cache (cheap: a few µs of copying).
     */
    private byte[] nextTurn() {
        return nextTurn(null);
    }

    /** As {@link #nextTurn()}; the answer's text goes to {@code answerOut[0]} when given. */
    private byte[] nextTurn(String[] answerOut) {
        int a = fresh.nextInt(freshText.length() - 1400);
        int q = fresh.nextInt(freshText.length() - 600);
        if (answerOut != null) {
            answerOut[0] = freshText.substring(a, a + 1400);
        }
        byte[] answer = quoted(freshText.substring(a, a + 1400));
        byte[] question = quoted(freshText.substring(q, q + 600));
        byte[] out = new byte[nextTurnFrame[0].length + answer.length + nextTurnFrame[1].length + question.length
                + nextTurnFrame[2].length];
        int at = 0;
        for (byte[] part : new byte[][] {nextTurnFrame[0], answer, nextTurnFrame[1], question, nextTurnFrame[2]}) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    /** The segment cache holds exactly the previous turn (the history of every next turn). */
    void previousTurnCached() throws IOException {
        tokenizer.clearSegmentCache();
        tokenizer.chat(JSON.readTree(previousBody));
    }

    /** JSON string content (the frame has the quotes): the fresh text has no quote, backslash or control char. */
    private static byte[] quoted(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Per call: the cache emptied (chatCold). */
    @State(Scope.Thread)
    public static class Cold {
        @Setup(Level.Invocation)
        public void clear(TokenizeBenchmark b) {
            b.tokenizer.clearSegmentCache();
        }
    }

    /** Per call: the previous turn cached, a fresh next turn (chatNextTurn). */
    @State(Scope.Thread)
    public static class NextTurn {
        byte[] body;

        @Setup(Level.Trial)
        public void previousTurn(TokenizeBenchmark b) throws IOException {
            b.previousTurnCached();
        }

        @Setup(Level.Invocation)
        public void next(TokenizeBenchmark b) {
            body = b.nextTurn();
        }
    }

    /**
     * Per call: as {@link NextTurn}, but the previous answer was encoded when it passed through the router
     * ({@link PromptTokenizer#warmAnswer}, outside the measured call): chatNextTurnWarmed.
     */
    @State(Scope.Thread)
    public static class WarmedTurn {
        byte[] body;

        @Setup(Level.Trial)
        public void previousTurn(TokenizeBenchmark b) throws IOException {
            b.previousTurnCached();
        }

        @Setup(Level.Invocation)
        public void next(TokenizeBenchmark b) {
            String[] answer = new String[1];
            body = b.nextTurn(answer);
            b.tokenizer.warmAnswer(answer[0]);
        }
    }

    /** Per call: a fresh answer of ~1,400 characters to encode ahead (warmAnswer). */
    @State(Scope.Thread)
    public static class FreshAnswer {
        String answer;

        @Setup(Level.Invocation)
        public void next(TokenizeBenchmark b) {
            String[] out = new String[1];
            b.nextTurn(out);
            answer = out[0];
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        tokenizer.close();
        djl.close();
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    /** A chat body whose message contents add up to {@code chars} characters. */
    static ObjectNode conversation(int chars, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        ObjectNode body = JSON.createObjectNode().put("model", "m");
        ArrayNode messages = body.putArray("messages");
        int system = Math.min(1024, chars / 2);
        messages.addObject().put("role", "system").put("content", words(random, system));
        int left = chars - system;
        boolean user = true;
        while (left > 0) {
            int size = Math.min(left, user ? 600 : 1400);
            messages.addObject().put("role", user ? "user" : "assistant").put("content", words(random, size));
            left -= size;
            user = !user;
        }
        if (!user) {
            return body;
        }
        messages.addObject().put("role", "user").put("content", "Please summarise.");
        return body;
    }

    private static String words(SplittableRandom random, int chars) {
        StringBuilder out = new StringBuilder(chars + 16);
        while (out.length() < chars) {
            out.append(WORDS[random.nextInt(WORDS.length)]);
            int r = random.nextInt(20);
            out.append(r == 0 ? ".\n" : r == 1 ? ", " : " ");
        }
        out.setLength(chars);
        return out.toString();
    }

    @Benchmark
    public long[] chatBefore() throws IOException {
        return djl.encode(tokenizer.chatPrompt(JSON.readTree(body)), false, false).getIds();
    }

    @Benchmark
    public int[] chatCold(Cold cold) throws IOException {
        return tokenizer.chat(JSON.readTree(body));
    }

    @Benchmark
    public int[] chatNextTurn(NextTurn next) throws IOException {
        return tokenizer.chat(JSON.readTree(next.body));
    }

    @Benchmark
    public int[] chatNextTurnWarmed(WarmedTurn next) throws IOException {
        return tokenizer.chat(JSON.readTree(next.body));
    }

    @Benchmark
    public boolean warmAnswer(FreshAnswer fresh) {
        return tokenizer.warmAnswer(fresh.answer);
    }

    @Benchmark
    public int[] chatRepeat() throws IOException {
        return tokenizer.chat(JSON.readTree(body));
    }

    @Benchmark
    public String template() {
        return tokenizer.chatPrompt(request);
    }

    @Benchmark
    public int[] encode() {
        return tokenizer.encodeWhole(prompt, false);
    }

    @Benchmark
    public long[] encodeDjl() {
        return djl.encode(prompt, false, false).getIds();
    }
}
