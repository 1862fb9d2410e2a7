package dev.vllmrouter.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.tokenize.TokenizerSpec.AddedToken;

/** Which tokens a text may be cut after, and when a tokenizer is refused (pure: specs written here). */
class SpecialTokenCutsTest {
    private static JsonNode json(String text) {
        try {
            return TokenizerFixtures.JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static final JsonNode BYTE_LEVEL = json("""
            {"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\\\s+"},"behavior":"Isolated"},
             {"type":"ByteLevel","add_prefix_space":false}]}""");

    private static AddedToken special(int id, String content) {
        return new AddedToken(id, content, true, false, false, false, false);
    }

    private static TokenizerSpec spec(List<AddedToken> tokens, JsonNode pre, String model, JsonNode dropout) {
        return new TokenizerSpec(tokens, json("{\"type\":\"NFC\"}"), pre, json("{\"type\":\"ByteLevel\"}"), model,
                dropout);
    }

    private static TokenizerSpec spec(AddedToken... tokens) {
        return spec(List.of(tokens), BYTE_LEVEL, "BPE", NullNode.instance);
    }

    @Test
    void cutsAfterEachSpecialTokenAndAtTheEnd() {
        SpecialTokenCuts cuts = SpecialTokenCuts.analyse(spec(special(1, "<|im_start|>"), special(2, "<|im_end|>")));
        assertThat(cuts.usable()).isTrue();
        String text = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
        assertThat(cuts.segmentEnds(text)).containsExactly(12, 29, 42, text.length());
        assertThat(cuts.segmentEnds("<|im_end|><|im_end|>")).containsExactly(10, 20);
        assertThat(cuts.segmentEnds("no tokens <|im_en")).containsExactly(17);
        assertThat(cuts.segmentEnds("")).isEmpty();
    }

    @Test
    void tokensWithDifferentFirstCharactersAreAllFound() {
        SpecialTokenCuts cuts = SpecialTokenCuts.analyse(spec(special(1, "[SEP]"), special(2, "<eos>")));
        assertThat(cuts.segmentEnds("a[SEP]b<eos>c")).containsExactly(6, 12, 13);
    }

    @Test
    void addedTokensThatMatchByTheirNeighboursRefuseTheTokenizer() {
        for (AddedToken odd : List.of(
                new AddedToken(9, "<x>", false, false, true, false, false),
                new AddedToken(9, "<x>", false, false, false, true, false),
                new AddedToken(9, "<x>", true, false, false, false, true))) {
            SpecialTokenCuts cuts = SpecialTokenCuts.analyse(spec(special(1, "<|im_end|>"), odd));
            assertThat(cuts.usable()).as("%s", odd).isFalse();
            assertThat(cuts.refusal()).contains("lstrip, rstrip or single_word");
        }
    }

    @Test
    void positionDependentPreTokenizersRandomModelsAndUnknownStagesAreRefused() {
        List<AddedToken> tokens = List.of(special(1, "</s>"));
        assertThat(SpecialTokenCuts.analyse(spec(tokens, json("""
                {"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}"""), "BPE",
                NullNode.instance)).refusal()).contains("Metaspace");
        assertThat(SpecialTokenCuts.analyse(spec(tokens, json("""
                {"type":"ByteLevel","add_prefix_space":true}"""), "BPE", NullNode.instance)).refusal())
                .contains("add_prefix_space");
        assertThat(SpecialTokenCuts.analyse(spec(tokens, BYTE_LEVEL, "BPE", json("0.1"))).refusal())
                .contains("dropout");
        assertThat(SpecialTokenCuts.analyse(spec(tokens, BYTE_LEVEL, "Mystery", NullNode.instance)).refusal())
                .contains("Mystery");
        assertThat(SpecialTokenCuts.analyse(new TokenizerSpec(tokens, NullNode.instance, BYTE_LEVEL,
                json("{\"type\":\"Novel\"}"), "BPE", NullNode.instance)).refusal()).contains("Novel");
        assertThat(SpecialTokenCuts.analyse(spec(tokens, BYTE_LEVEL, "BPE", json("0.0"))).usable()).isTrue();
    }

    @Test
    void aTokenThatAnotherTokenContainsOrOverlapsIsNotACutPoint() {
        // "<a>" inside "<a>b": the scan would match the longer one (and "<a>b" starts with the whole of "<a>", which
        // is also refused, to be safe); "x<b" ends with a prefix of "<b>": overlap; "<c<c": its prefix "<c" is its
        // own suffix, two occurrences can overlap; normalized or non-special: not cut at
        SpecialTokenCuts cuts = SpecialTokenCuts.analyse(spec(
                special(1, "<a>"), special(2, "<a>b"),
                special(3, "<b>"), new AddedToken(4, "x<b", false, false, false, false, false),
                special(5, "<c<c"),
                new AddedToken(6, "<d>", true, true, false, false, false),
                new AddedToken(7, "<e>", false, false, false, false, false),
                special(8, "<ok>")));
        assertThat(cuts.tokens()).containsExactly("<ok>");
    }

    @Test
    void noQualifyingTokenMeansNoCutting() {
        SpecialTokenCuts cuts = SpecialTokenCuts.analyse(spec(new AddedToken(1, "<e>", false, false, false, false,
                false)));
        assertThat(cuts.usable()).isFalse();
        assertThat(cuts.segmentEnds("a<e>b")).containsExactly(5);
    }
}
