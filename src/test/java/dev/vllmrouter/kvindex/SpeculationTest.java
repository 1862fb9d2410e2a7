package dev.vllmrouter.kvindex;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SpeculationTest {
    @Test
    void aGuessHoldsUntilItsExpiryAndNotForOtherSources() {
        Speculation s = Speculation.of(3, 100);
        assertThat(s.live(3, 99)).isTrue();
        assertThat(s.live(3, 100)).as("expired at its expiry").isFalse();
        assertThat(s.live(4, 50)).isFalse();
    }

    @Test
    void aNewGuessForASourceKeepsTheLaterExpiryAndLeavesTheOldValueAlone() {
        Speculation s = Speculation.of(3, 100);
        Speculation later = s.with(3, 200);
        assertThat(later.sources).containsExactly(3);
        assertThat(later.expiries).containsExactly(200);
        assertThat(later.with(3, 150).expiries).as("an earlier guess does not shorten it").containsExactly(200);
        assertThat(s.expiries).as("immutable").containsExactly(100);
        Speculation two = s.with(5, 50);
        assertThat(two.sources).containsExactly(3, 5);
        assertThat(two.expiries).containsExactly(100, 50);
    }

    @Test
    void expiredGuessesAreDroppedAndNoneLeftIsNull() {
        Speculation s = Speculation.of(1, 100).with(2, 300).with(3, 200);
        assertThat(s.live(50)).as("none expired: the same value").isSameAs(s);
        Speculation kept = s.live(150);
        assertThat(kept.sources).containsExactly(2, 3);
        assertThat(kept.expiries).containsExactly(300, 200);
        assertThat(s.live(300)).isNull();
    }

    @Test
    void ticksCompareAcrossTheOverflowOfTheTicker() {
        long near = Long.MAX_VALUE - 10;
        Speculation s = Speculation.of(1, near + 20); // wraps to a negative number
        assertThat(s.live(1, near)).isTrue();
        assertThat(s.live(near)).isSameAs(s);
    }
}
