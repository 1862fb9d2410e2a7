package dev.vllmrouter.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

/** What the prefix-cache model tells its listener (the source of the simulated KV-cache events), and the token ids. */
class SimKvEventsModelTest {
    private final List<String> heard = new ArrayList<>();
    private final PrefixCacheModel model = new PrefixCacheModel(2, 4); // 2 tokens (8 chars) per block, 4 blocks

    {
        model.listener(new PrefixCacheModel.Listener() {
            @Override
            public void changed(int[] tokens, long[] hashes, long[] evicted, int[][] runs) {
                StringBuilder sb = new StringBuilder("evicted " + evicted.length + " stored");
                for (int[] r : runs) {
                    sb.append(' ').append(Arrays.toString(r));
                }
                heard.add(sb.toString());
            }

            @Override
            public void cleared() {
                heard.add("cleared");
            }
        });
    }

    @Test
    void newBlocksAreReportedAsRunsAndEvictionsBeforeThem() {
        model.lookupAndStore("aaaaaaaabbbbbbbbcc"); // 2 full blocks
        model.lookupAndStore("aaaaaaaabbbbbbbbcc"); // nothing new: no change reported
        model.lookupAndStore("aaaaaaaabbbbbbbbdddddddd"); // block 2 new
        model.lookupAndStore("xxxxxxxxyyyyyyyy"); // 2 new blocks, cache of 4 is full: the 2 oldest go
        model.reset();
        assertThat(heard).containsExactly("evicted 0 stored [0, 2]", "evicted 0 stored [2, 3]",
                "evicted 1 stored [0, 2]", "cleared");
    }

    @Test
    void tokenIdsAreOnePerAsciiPieceAndRoundTripPromptIds() {
        assertThat(Tokens.tokenId("abcd", 0)).isEqualTo('a' | 'b' << 7 | 'c' << 14 | 'd' << 21);
        assertThat(Tokens.tokenId("abce", 0)).isNotEqualTo(Tokens.tokenId("abcd", 0));
        String rendered = PromptText.completion(new com.fasterxml.jackson.databind.ObjectMapper().createArrayNode()
                .add(151644).add(7));
        assertThat(Tokens.tokenIds(rendered)).containsExactly(151644, 7);
        assertThat(Tokens.tokenId("héllo", 0)).isGreaterThanOrEqualTo(1 << 28);
        assertThat(Tokens.tokenIds("abcdefg")).hasSize(2);
    }
}
