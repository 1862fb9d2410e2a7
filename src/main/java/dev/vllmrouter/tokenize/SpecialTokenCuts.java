package dev.vllmrouter.tokenize;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import dev.vllmrouter.tokenize.TokenizerSpec.AddedToken;

/**
 * Where a text may be cut so that encoding the pieces separately and concatenating the ids gives exactly the ids of
 * encoding the whole text (with {@code add_special_tokens} false): right after each occurrence of a "cut token".
 * <p>
 * Why that holds, from how Hugging Face tokenizers encode: the added tokens that are not {@code normalized} are
 * found first, on the raw text, by a leftmost-longest scan; each piece between them is then normalized,
 * pre-tokenized and run through the model on its own, and the ids are the pieces' ids and the added tokens' ids in
 * order (the post-processor adds nothing without {@code add_special_tokens}). So if the scan of the whole text
 * matches a token S at [a, b), the pieces before and after are processed independently, and the text can be cut at
 * b — provided the scan of [0, b) alone and of [b, n) alone find the same matches as the scan of the whole, and that
 * no stage looks at a piece's position in the whole text. This class takes as cut tokens only the added tokens for
 * which that is certain, and refuses entirely when a stage is not known to be position-free:
 * <ul>
 *   <li>a cut token is {@code special}, not {@code normalized} (it is matched on the raw text, before any
 *       normalizer runs: a normalizer never sees across it), and no added token contains it or ends with a proper
 *       prefix of it (so every occurrence in the text is a match of the scan and no match of another token
 *       overlaps it: the scan before and after the cut is the same whether the text is whole or cut);</li>
 *   <li>no added token has {@code lstrip}, {@code rstrip} or {@code single_word} (their matches depend on the
 *       characters around them);</li>
 *   <li>the pre-tokenizer is made only of kinds that treat each piece alike ({@code Split}, {@code ByteLevel}
 *       without {@code add_prefix_space}, {@code Digits}, {@code Punctuation}, {@code Whitespace},
 *       {@code WhitespaceSplit}, {@code BertPreTokenizer}, in a {@code Sequence}); {@code Metaspace} with
 *       {@code prepend_scheme} "first", for one, treats the first piece of the text differently and is refused;</li>
 *   <li>the model is BPE without dropout, WordPiece, WordLevel or Unigram; the post-processor one of ByteLevel,
 *       TemplateProcessing, BertProcessing, RobertaProcessing (or a Sequence of them), which change no ids without
 *       {@code add_special_tokens}.</li>
 * </ul>
 * The golden test and the property test (SegmentedEncodingTest) check the result on Qwen3 and Llama 3.1 against
 * encoding whole texts. Immutable and thread-safe.
 */
final class SpecialTokenCuts {
    private static final Set<String> PIECEWISE_PRE_TOKENIZERS = Set.of("Split", "ByteLevel", "Digits",
            "Punctuation", "Whitespace", "WhitespaceSplit", "BertPreTokenizer");
    private static final Set<String> MODELS = Set.of("BPE", "WordPiece", "WordLevel", "Unigram");
    private static final Set<String> POST_PROCESSORS = Set.of("ByteLevel", "TemplateProcessing", "BertProcessing",
            "RobertaProcessing");

    private final String[] tokens;
    private final String refusal;
    private final char commonFirst;

    private SpecialTokenCuts(String[] tokens, String refusal) {
        this.tokens = tokens;
        this.refusal = refusal;
        char first = 0;
        for (String t : tokens) {
            if (first == 0) {
                first = t.charAt(0);
            } else if (first != t.charAt(0)) {
                first = 0;
                break;
            }
        }
        this.commonFirst = first;
    }

    /** Decides the cut tokens of a tokenizer, or why it cannot be cut. */
    static SpecialTokenCuts analyse(TokenizerSpec spec) {
        String reason = refusal(spec);
        if (reason != null) {
            return refused(reason);
        }
        List<String> cut = new ArrayList<>();
        for (AddedToken s : spec.addedTokens()) {
            if (s.special() && !s.normalized() && !s.content().isEmpty() && isolated(s, spec.addedTokens())) {
                cut.add(s.content());
            }
        }
        if (cut.isEmpty()) {
            return refused("no special token qualifies as a cut point");
        }
        cut.sort(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()));
        return new SpecialTokenCuts(cut.toArray(String[]::new), null);
    }

    static SpecialTokenCuts refused(String reason) {
        return new SpecialTokenCuts(new String[0], reason);
    }

    private static String refusal(TokenizerSpec spec) {
        for (AddedToken t : spec.addedTokens()) {
            if (t.lstrip() || t.rstrip() || t.singleWord()) {
                return "added token " + t.content() + " has lstrip, rstrip or single_word";
            }
        }
        String pre = piecewise(spec.preTokenizer());
        if (pre != null) {
            return "pre-tokenizer " + pre + " may treat pieces by their position";
        }
        if (!MODELS.contains(spec.modelType())) {
            return "model type " + spec.modelType() + " is not known to be piecewise";
        }
        JsonNode dropout = spec.modelDropout();
        if (dropout != null && !dropout.isNull() && dropout.asDouble(0) > 0) {
            return "BPE dropout is random";
        }
        String post = postProcessor(spec.postProcessor());
        if (post != null) {
            return "post-processor " + post + " is not known";
        }
        return null;
    }

    /** null when every part of the pre-tokenizer is piecewise, else the offending type. */
    private static String piecewise(JsonNode pre) {
        if (pre == null || pre.isNull()) {
            return null;
        }
        String type = pre.path("type").asText();
        if (type.equals("Sequence")) {
            for (JsonNode part : pre.path("pretokenizers")) {
                String bad = piecewise(part);
                if (bad != null) {
                    return bad;
                }
            }
            return null;
        }
        if (type.equals("ByteLevel") && pre.path("add_prefix_space").asBoolean(true)) {
            return "ByteLevel with add_prefix_space";
        }
        return PIECEWISE_PRE_TOKENIZERS.contains(type) ? null : type;
    }

    private static String postProcessor(JsonNode post) {
        if (post == null || post.isNull()) {
            return null;
        }
        String type = post.path("type").asText();
        if (type.equals("Sequence")) {
            for (JsonNode part : post.path("processors")) {
                String bad = postProcessor(part);
                if (bad != null) {
                    return bad;
                }
            }
            return null;
        }
        return POST_PROCESSORS.contains(type) ? null : type;
    }

    /**
     * Whether every occurrence of {@code s} is matched by the tokenizer's scan, alone: no other added token
     * contains it, and no added token (itself included) ends with a proper prefix of it, so no match can overlap
     * it from the left, contain it, or extend it to the right.
     */
    private static boolean isolated(AddedToken s, List<AddedToken> all) {
        String c = s.content();
        for (AddedToken t : all) {
            String o = t.content();
            if (t.id() != s.id() && o.contains(c)) {
                return false;
            }
            for (int k = 1; k < c.length(); k++) {
                if (k < o.length() || (k == o.length() && t.id() != s.id())) {
                    if (o.regionMatches(o.length() - k, c, 0, k)) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    boolean usable() {
        return refusal == null;
    }

    /** Why the text is encoded whole, or {@code null} when it can be cut. */
    String refusal() {
        return refusal;
    }

    List<String> tokens() {
        return List.of(tokens);
    }

    /**
     * The ends of the segments of {@code text}: after each cut token, and the end of the text (an empty text has
     * none). Segment i is {@code [ends[i-1], ends[i])} with {@code ends[-1] = 0}.
     */
    int[] segmentEnds(String text) {
        int n = text.length();
        if (n == 0) {
            return new int[0];
        }
        int[] ends = new int[16];
        int count = 0;
        if (tokens.length > 0) {
            int i = 0;
            while (i < n) {
                int at = commonFirst != 0 ? text.indexOf(commonFirst, i) : nextCandidate(text, i);
                if (at < 0) {
                    break;
                }
                String hit = tokenAt(text, at);
                if (hit == null) {
                    i = at + 1;
                    continue;
                }
                i = at + hit.length();
                if (count == ends.length) {
                    ends = Arrays.copyOf(ends, count * 2);
                }
                ends[count++] = i;
            }
        }
        if (count == 0 || ends[count - 1] != n) {
            if (count == ends.length) {
                ends = Arrays.copyOf(ends, count + 1);
            }
            ends[count++] = n;
        }
        return Arrays.copyOf(ends, count);
    }

    private int nextCandidate(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            for (String t : tokens) {
                if (t.charAt(0) == c) {
                    return i;
                }
            }
        }
        return -1;
    }

    private String tokenAt(String text, int at) {
        for (String t : tokens) {
            if (text.startsWith(t, at)) {
                return t;
            }
        }
        return null;
    }
}
