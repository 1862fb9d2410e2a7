package dev.vllmrouter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BodyPaceTest {
    private static final long S = 1_000_000_000L;

    @Test
    void aBodyGetsTheGracePlusOneSecondPerMinRateBytes() {
        BodyPace pace = new BodyPace(100 * S, 60 * S, 500);
        assertThat(pace.allowed(0)).isEqualTo(60 * S);
        assertThat(pace.allowed(500)).isEqualTo(61 * S);
        assertThat(pace.allowed(750)).isEqualTo(61 * S + S / 2);
    }

    @Test
    void eachReadIsBoundedByThePauseLimitUntilTheDeadlineIsNearer() {
        BodyPace pace = new BodyPace(0, 60 * S, 500);
        assertThat(pace.nextReadMillis(0, 0)).isEqualTo(60_000);
        assertThat(pace.nextReadMillis(30 * S, 0)).isEqualTo(30_000);
        assertThat(pace.nextReadMillis(30 * S, 50_000)).isEqualTo(60_000); // 100 s earned: the pause limit rules
    }

    @Test
    void aTrickleThatNeverPausesLongIsStoppedOnceItFallsBehind() {
        BodyPace pace = new BodyPace(0, 60 * S, 500);
        // a byte every 5 s: 12 bytes at 60 s buy 24 ms
        assertThat(pace.nextReadMillis(60 * S, 12)).isEqualTo(24);
        assertThat(pace.nextReadMillis(61 * S, 12)).isZero();
    }

    @Test
    void rateZeroBoundsOnlyThePauses() {
        BodyPace pace = new BodyPace(0, 60 * S, 0);
        assertThat(pace.nextReadMillis(10_000 * S, 1)).isEqualTo(60_000);
    }

    @Test
    void hugeCountsAndClockReadingsNeitherOverflowNorCutAFastBody() {
        BodyPace pace = new BodyPace(Long.MAX_VALUE - S, 60 * S, 1);
        assertThat(pace.nextReadMillis(Long.MAX_VALUE, Long.MAX_VALUE)).isEqualTo(60_000);
        assertThat(new BodyPace(-5 * S, S, BodyPace.MAX_RATE).nextReadMillis(-5 * S, Long.MAX_VALUE)).isEqualTo(1000);
        assertThatThrownBy(() -> new BodyPace(0, S, BodyPace.MAX_RATE + 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BodyPace(0, 0, 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
