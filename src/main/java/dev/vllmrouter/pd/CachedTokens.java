package dev.vllmrouter.pd;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The prefix-cache hit of a disaggregated request, as its client sees it: the prefill computed the prompt, so its
 * {@code usage.prompt_tokens_details.cached_tokens} is the request's, not whatever the decode reports (vLLM reports
 * {@code {"cached_tokens": N}} only with {@code --enable-prompt-tokens-details} and N &gt; 0). Pure functions, on
 * {@code /v1/chat/completions} and {@code /v1/completions} only, as vllm-router does:
 * <ul>
 *   <li>the prefill's value is a non-negative integer at {@code usage.prompt_tokens_details.cached_tokens}, else
 *       there is none;</li>
 *   <li>{@link #reconcile}: a value replaces the decode's {@code cached_tokens} (a {@code null} or absent
 *       {@code prompt_tokens_details} becomes {@code {"cached_tokens": N}}); no value removes the decode's, which
 *       would be misleading; every other field stays; no {@code usage} object, or details that are not an object:
 *       nothing changes;</li>
 *   <li>{@link #rewriteEvent}: in a stream only events whose data is JSON with a {@code usage} object are touched:
 *       the final usage chunk ({@code "choices": []}) gets the prefill's value, other chunks lose the decode's; such
 *       an event keeps its other lines and its line ends, its data becomes one {@code data: } line; every other event
 *       is returned as the same array.</li>
 * </ul>
 */
public final class CachedTokens {
    // decimals as they came (1.50 stays 1.50): only cached_tokens may change in the rewritten chunk
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .setNodeFactory(JsonNodeFactory.withExactBigDecimals(true));
    private static final byte[] USAGE = "\"usage\"".getBytes(StandardCharsets.US_ASCII);

    private CachedTokens() {
    }

    /** Whether answers on {@code path} are reconciled. */
    public static boolean appliesTo(String path) {
        return path.equals("/v1/chat/completions") || path.equals("/v1/completions");
    }

    /** The prefill's {@code usage.prompt_tokens_details.cached_tokens}, or {@code null} when it has none. */
    public static Long prefillCached(JsonNode prefillAnswer) {
        JsonNode v = prefillAnswer == null ? null
                : prefillAnswer.path("usage").path("prompt_tokens_details").get("cached_tokens");
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            return null;
        }
        return v.longValue();
    }

    /**
     * Sets (or, for {@code cached == null}, removes) {@code usage.prompt_tokens_details.cached_tokens} of a decode
     * answer.
     *
     * @return whether {@code response} changed
     */
    public static boolean reconcile(ObjectNode response, Long cached) {
        if (!(response.get("usage") instanceof ObjectNode usage)) {
            return false;
        }
        JsonNode details = usage.get("prompt_tokens_details");
        if (details instanceof ObjectNode d) {
            if (cached == null) {
                return d.remove("cached_tokens") != null;
            }
            JsonNode old = d.get("cached_tokens");
            if (old != null && old.isIntegralNumber() && old.canConvertToLong() && old.longValue() == cached) {
                return false;
            }
            put(d, cached);
            return true;
        }
        if ((details == null || details.isNull()) && cached != null) {
            put(usage.putObject("prompt_tokens_details"), cached);
            return true;
        }
        return false;
    }

    private static void put(ObjectNode details, long cached) {
        if (cached <= Integer.MAX_VALUE) {
            details.put("cached_tokens", (int) cached);
        } else {
            details.put("cached_tokens", cached);
        }
    }

    /** A complete non-streamed decode answer, reconciled; the same array when nothing changed. */
    public static byte[] rewriteBody(byte[] body, Long cached) {
        try {
            if (JSON.readTree(body) instanceof ObjectNode o && reconcile(o, cached)) {
                return JSON.writeValueAsBytes(o);
            }
        } catch (IOException e) {
            // not JSON: as it came
        }
        return body;
    }

    /**
     * One whole SSE event (with its terminating blank line) of a decode stream, reconciled; the same array when it
     * carries no usage to change.
     */
    public static byte[] rewriteEvent(byte[] event, Long cached) {
        if (indexOf(event, USAGE) < 0) {
            return event;
        }
        String text = new String(event, StandardCharsets.UTF_8);
        String[] lines = text.split("(?<=\n)");
        StringBuilder data = new StringBuilder();
        boolean hasData = false;
        for (String line : lines) {
            String content = stripEnd(line);
            if (content.startsWith("data:")) {
                if (hasData) {
                    data.append('\n');
                }
                String v = content.substring(5);
                data.append(v.startsWith(" ") ? v.substring(1) : v);
                hasData = true;
            }
        }
        byte[] encoded;
        try {
            if (!hasData || !(JSON.readTree(data.toString()) instanceof ObjectNode json)
                    || !(json.get("usage") instanceof ObjectNode)) {
                return event;
            }
            boolean finalUsage = json.get("choices") != null && json.get("choices").isArray()
                    && json.get("choices").isEmpty();
            if (!reconcile(json, finalUsage ? cached : null)) {
                return event;
            }
            encoded = JSON.writeValueAsBytes(json);
        } catch (IOException e) {
            return event;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(event.length + 32);
        boolean wrote = false;
        for (String line : lines) {
            String content = stripEnd(line);
            if (content.startsWith("data:")) {
                if (!wrote) {
                    out.writeBytes("data: ".getBytes(StandardCharsets.US_ASCII));
                    out.writeBytes(encoded);
                    out.writeBytes(line.substring(content.length()).getBytes(StandardCharsets.US_ASCII));
                    wrote = true;
                }
            } else {
                out.writeBytes(line.getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
    }

    private static String stripEnd(String line) {
        String l = line.endsWith("\n") ? line.substring(0, line.length() - 1) : line;
        return l.endsWith("\r") ? l.substring(0, l.length() - 1) : l;
    }

    private static int indexOf(byte[] a, byte[] b) {
        outer:
        for (int i = 0; i + b.length <= a.length; i++) {
            for (int j = 0; j < b.length; j++) {
                if (a[i + j] != b[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
