package dev.vllmrouter.bench;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;

/**
 * What asking a worker's {@code POST /tokenize} for a request's token ids would cost the router: per request one
 * round trip with the router's own HTTP client (keep-alive pool) carrying the chat body, the answer's
 * {@code tokens} array read into an {@code int[]} (Jackson tree). Measured on one platform thread, one request at a
 * time: wall time per call (the latency added in front of the routing decision) and that thread's CPU time (the
 * router's CPU per request; the worker's own work is not in it). Chat bodies of 2, 32 and 128 KiB of message
 * content. Usage: {@code TokenizeRoundTrip URL [requests per size]}; prints a Markdown table.
 */
public final class TokenizeRoundTrip {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int[] SIZES = {2048, 32768, 131072};

    private TokenizeRoundTrip() {
    }

    public static void main(String[] args) throws Exception {
        String url = args.length > 0 ? args[0] : "http://127.0.0.1:8001";
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        UpstreamClient client = new UpstreamClient(Duration.ofSeconds(5), Duration.ofSeconds(30));
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Table t = new Table("prompt", "tokens", "wall p50 µs", "wall p99 µs", "router CPU µs (mean)");
        for (int size : SIZES) {
            byte[] body = JSON.writeValueAsBytes(chat(size, 7));
            int tokens = 0;
            for (int i = 0; i < Math.max(20, n / 5); i++) { // warm-up: JIT, pooled connection
                tokens = call(client, url, body).length;
            }
            long[] wall = new long[n];
            long cpu = 0;
            for (int i = 0; i < n; i++) {
                long c0 = threads.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                call(client, url, body);
                wall[i] = System.nanoTime() - t0;
                cpu += threads.getCurrentThreadCpuTime() - c0;
            }
            Arrays.sort(wall);
            t.row((size / 1024) + " KiB", String.valueOf(tokens), String.valueOf(wall[n / 2] / 1000),
                    String.valueOf(wall[Math.min(n - 1, (int) Math.ceil(0.99 * n) - 1)] / 1000),
                    String.valueOf(cpu / n / 1000));
        }
        System.out.printf(Locale.ROOT, "POST %s/tokenize, %d calls per size, one at a time%n%n", url, n);
        System.out.print(t.render());
        System.exit(0);
    }

    private static int[] call(UpstreamClient client, String url, byte[] body) throws Exception {
        try (UpstreamResponse r = client.send("w", "POST", url, "/tokenize",
                h -> h.add("Content-Type", "application/json"), body, null);
             InputStream in = r.body()) {
            if (r.status() != 200) {
                throw new IllegalStateException("/tokenize answered " + r.status());
            }
            JsonNode answer = JSON.readTree(in);
            JsonNode tokens = answer.get("tokens");
            int[] ids = new int[tokens.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = tokens.get(i).intValue();
            }
            return ids;
        }
    }

    /** A chat body whose message contents add up to {@code chars} characters (a system prompt, then turns). */
    static ObjectNode chat(int chars, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        ObjectNode body = JSON.createObjectNode().put("model", "demo");
        ArrayNode messages = body.putArray("messages");
        int system = Math.min(1024, chars / 2);
        messages.addObject().put("role", "system").put("content", ChatText.words(random, system));
        int left = chars - system;
        boolean user = true;
        while (left > 0) {
            int size = Math.min(left, user ? 600 : 1400);
            messages.addObject().put("role", user ? "user" : "assistant").put("content", ChatText.words(random, size));
            left -= size;
            user = !user;
        }
        if (!user) {
            messages.addObject().put("role", "user").put("content", "Please summarise.");
        }
        return body;
    }
}
