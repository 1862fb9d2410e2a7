package dev.vllmrouter.kvevents;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PredictionCheckTest {
    private final List<String> calls = new ArrayList<>();
    private final PredictionCheck check = new PredictionCheck((w, on) -> calls.add(w + "=" + on));

    @Test
    void outcomesAreCountedAndAMissingFieldIsZeroOnlyOnceTheWorkerReportedIt() {
        check.observed("w", 32, -1); // the worker may not report details at all: not checked
        assertThat(check.counts("w")).isNull();
        check.observed("w", 32, 32);
        check.observed("w", 32, -1); // now known to report: absent = 0
        check.observed("w", 0, 16);
        PredictionCheck.Counts c = check.counts("w");
        assertThat(c.exact()).isEqualTo(1);
        assertThat(c.over()).isEqualTo(1);
        assertThat(c.under()).isEqualTo(1);
        assertThat(c.predictedTokens()).isEqualTo(64);
        assertThat(c.reportedTokens()).isEqualTo(48);
        assertThat(c.accuracy()).isEqualTo(1.0 / 3);
        assertThat(calls).isEmpty();
    }

    @Test
    void aWorkerWhosePredictionsKeepOverReachingIsDemotedAndLiftedWhenTheyAgreeAgain() {
        for (int i = 0; i < PredictionCheck.DEMOTE_AT - 1; i++) {
            check.observed("w", 64, 16);
        }
        assertThat(calls).isEmpty();
        check.observed("w", 64, 16);
        assertThat(calls).containsExactly("w=true");
        assertThat(check.counts("w").demoted()).isTrue();
        // under-predictions never demote; agreeing answers slide the misses out of the window of 20
        for (int i = 0; i < PredictionCheck.WINDOW - PredictionCheck.LIFT_AT - 1; i++) {
            check.observed("w", i % 2 == 0 ? 0 : 64, 64);
        }
        assertThat(calls).as("3 misses left in the window").containsExactly("w=true");
        check.observed("w", 64, 64);
        assertThat(calls).containsExactly("w=true", "w=false");
    }
}
