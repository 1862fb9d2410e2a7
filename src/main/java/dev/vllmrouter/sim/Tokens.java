package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;

/**
 * The simulator's "tokenizer": prompt-size estimates and the deterministic filler text it generates.
 *
 * <p>Rule: token {@code i} of a text is its characters {@code [4i, 4i + 4)} (the usual rule of thumb of about
 * 4 characters per token for English BPE vocabularies); a text of {@code n} characters has
 * {@code max(1, ceil(n / 4))} tokens, a trailing partial token included. Generation prompts are first rendered
 * to one text ({@link PromptText}); {@link PrefixCacheModel} caches complete tokens of that text. For other JSON
 * inputs (responses, pooling) every string counts its characters and every number counts as one token
 * (token-id prompts).
 *
 * <p>Token ids ({@link #tokenId}, for {@code /tokenize} and the KV-cache events): a token of 4 ASCII characters is
 * {@code c0 | c1 << 7 | c2 << 14 | c3 << 21} (below 2^28, one id per piece, so equal ids mean equal text); a token
 * rendered from a prompt's token id ({@link PromptText}: two NUL characters, then the id's two 16-bit halves) is that
 * id again; any other piece (non-ASCII, a trailing partial token) is {@code 2^28 +} a hash of it.
 *
 * <p>Output token {@code i} is the text {@code " token<i>"}; the UTF-8 bytes of the first {@value #CACHED} are
 * rendered once, so streaming a token costs no allocation. The text needs no JSON escaping.
 */
final class Tokens {
    /** Characters per simulated token. */
    static final int CHARS_PER_TOKEN = 4;
    static final int CACHED = 4096;
    private static final byte[][] FILLER = new byte[CACHED][];

    static {
        for (int i = 0; i < CACHED; i++) {
            FILLER[i] = render(i);
        }
    }

    private Tokens() {
    }

    /** Tokens of a text of {@code chars} characters: {@code max(1, ceil(chars / 4))}. */
    static int fromChars(long chars) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, (chars + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN));
    }

    /** Estimated tokens of a prompt given as JSON (string, token ids, lists, chat messages). */
    static int estimate(JsonNode node) {
        return fromChars(weight(node));
    }

    private static long weight(JsonNode node) {
        if (node == null || node.isNull()) {
            return 0;
        }
        if (node.isTextual()) {
            return node.textValue().length();
        }
        if (node.isNumber()) {
            return CHARS_PER_TOKEN;
        }
        long sum = 0;
        if (node.isContainerNode()) {
            for (JsonNode child : node) {
                sum += weight(child);
            }
        }
        return sum;
    }

    /** The id of token {@code i} of {@code text} (characters {@code [4i, 4i + 4)}); see the class comment. */
    static int tokenId(CharSequence text, int i) {
        int from = i * CHARS_PER_TOKEN;
        int to = Math.min(text.length(), from + CHARS_PER_TOKEN);
        if (to - from == CHARS_PER_TOKEN) {
            char c0 = text.charAt(from);
            char c1 = text.charAt(from + 1);
            char c2 = text.charAt(from + 2);
            char c3 = text.charAt(from + 3);
            if (c0 == 0 && c1 == 0 && c2 < 0x8000) {
                return c2 << 16 | c3;
            }
            if ((c0 | c1 | c2 | c3) < 0x80) {
                return c0 | c1 << 7 | c2 << 14 | c3 << 21;
            }
        }
        long h = 0xcbf29ce484222325L;
        for (int k = from; k < to; k++) {
            h = (h ^ text.charAt(k)) * 0x100000001b3L;
        }
        return (1 << 28) + (int) Math.floorMod(h, (long) Integer.MAX_VALUE - (1 << 28));
    }

    /** The ids of every token of {@code text} ({@link #fromChars} of them, a trailing partial token included). */
    static int[] tokenIds(CharSequence text) {
        int n = text.length() == 0 ? 0 : fromChars(text.length());
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = tokenId(text, i);
        }
        return ids;
    }

    /** The UTF-8 (and JSON-safe) bytes of output token {@code i}. */
    static byte[] filler(int i) {
        return i < CACHED ? FILLER[i] : render(i);
    }

    static String fillerText(int count) {
        StringBuilder sb = new StringBuilder(count * 8);
        for (int i = 0; i < count; i++) {
            sb.append(" token").append(i);
        }
        return sb.toString();
    }

    private static byte[] render(int i) {
        return (" token" + i).getBytes(StandardCharsets.US_ASCII);
    }
}
