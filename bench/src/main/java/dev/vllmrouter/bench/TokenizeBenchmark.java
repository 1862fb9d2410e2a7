package dev.vllmrouter.bench;

import java.io.IOException;
import java.io.InputStream;
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

import dev.vllmrouter.tokenize.PromptTokenizer;

/**
 * Router-side tokenization per request: a {@code /v1/chat/completions} body of {@code promptSize} characters of
 * message content (a 1 KiB system prompt, then user and assistant turns of pseudo-random words with some non-ASCII)
 * on a real model's files (src/test/resources/tokenize/&lt;model&gt;, found from the working directory, which
 * bench/jmh.sh sets to the repository root).
 * <ul>
 *   <li>{@code chat}: what one request costs: parse the body bytes into a tree, render the chat template, encode;</li>
 *   <li>{@code template}: the template render alone (from the parsed tree);</li>
 *   <li>{@code encode}: the encoding of the rendered prompt alone.</li>
 * </ul>
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
    private byte[] body;
    private JsonNode request;
    private String prompt;

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
        body = JSON.writeValueAsBytes(conversation(promptSize, 7));
        request = JSON.readTree(body);
        prompt = tokenizer.chatPrompt(request);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        tokenizer.close();
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
    public int[] chat() throws IOException {
        return tokenizer.chat(JSON.readTree(body));
    }

    @Benchmark
    public String template() {
        return tokenizer.chatPrompt(request);
    }

    @Benchmark
    public int[] encode() {
        return tokenizer.encode(prompt, false);
    }
}
