package dev.vllmrouter.fault;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackoffTest {
    private static RetryConfig config(double jitter) {
        RetryConfig d = RetryConfig.defaults();
        return new RetryConfig(d.maxAttempts(), d.initialBackoff(), d.maxBackoff(), d.multiplier(), jitter, false);
    }

    private static Backoff backoff(double jitter, long seed) {
        return new Backoff(config(jitter), RandomSource.seeded(seed));
    }

    private static List<Long> millis(Backoff b, int count) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(b.delay(i).toMillis());
        }
        return out;
    }

    @Test
    void defaultsAreVllmRoutersFlags() {
        assertThat(RetryConfig.defaults()).isEqualTo(new RetryConfig(5, Duration.ofMillis(50),
                Duration.ofMillis(30_000), 1.5, 0.2, false));
    }

    @Test
    void withoutJitterTheDelaysAreExactWholeMilliseconds() {
        // 50 × 1.5^n truncated like vllm-router: 50, 75, 112.5, 168.75, 253.125
        assertThat(millis(backoff(0, 1), 5)).containsExactly(50L, 75L, 112L, 168L, 253L);
    }

    @Test
    void theDelayIsCappedAtMaxBackoffEvenWhenThePowerOverflows() {
        Backoff b = backoff(0, 1);
        assertThat(b.delay(20)).isEqualTo(Duration.ofMillis(30_000)); // 50 × 1.5^20 ≈ 166 s
        assertThat(b.delay(5_000)).isEqualTo(Duration.ofMillis(30_000)); // 1.5^5000 is infinite as a double
    }

    @Test
    void jitterStaysWithinPlusMinusTwentyPercentAndUsesTheRange() {
        Backoff b = backoff(0.2, 42);
        long[] base = {50, 75, 112, 168, 30_000};
        int[] index = {0, 1, 2, 3, 30};
        for (int k = 0; k < base.length; k++) {
            long min = Long.MAX_VALUE;
            long max = Long.MIN_VALUE;
            for (int i = 0; i < 2_000; i++) {
                long d = b.delay(index[k]).toMillis();
                min = Math.min(min, d);
                max = Math.max(max, d);
            }
            assertThat(min).as("lowest of retry %d", index[k]).isBetween(Math.round(base[k] * 0.8),
                    Math.round(base[k] * 0.9));
            assertThat(max).as("highest of retry %d", index[k]).isBetween(Math.round(base[k] * 1.1),
                    Math.round(base[k] * 1.2));
        }
    }

    @Test
    void aSeededSourceGivesARepeatableSequence() {
        List<Long> first = millis(backoff(0.2, 7), 10);
        assertThat(millis(backoff(0.2, 7), 10)).isEqualTo(first);
        assertThat(millis(backoff(0.2, 8), 10)).isNotEqualTo(first);
    }

    @Test
    void fullJitterIsNeverNegative() {
        Backoff b = backoff(1.0, 3);
        for (int i = 0; i < 1_000; i++) {
            assertThat(b.delay(i % 4)).isGreaterThanOrEqualTo(Duration.ZERO);
        }
    }

    @Test
    void retryAfterIsHonouredButNeverShortensTheBackoffAndIsCapped() {
        Backoff b = backoff(0, 1);
        assertThat(b.delay(0, null)).isEqualTo(Duration.ofMillis(50));
        assertThat(b.delay(0, Duration.ofSeconds(2))).isEqualTo(Duration.ofSeconds(2));
        assertThat(b.delay(2, Duration.ofMillis(10))).isEqualTo(Duration.ofMillis(112));
        assertThat(b.delay(0, Duration.ZERO)).isEqualTo(Duration.ofMillis(50));
        assertThat(b.delay(0, Duration.ofMinutes(5))).isEqualTo(Duration.ofSeconds(30));
        assertThat(b.retryAfterCap()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void aSmallerMaxBackoffAlsoCapsRetryAfter() {
        RetryConfig c = new RetryConfig(5, Duration.ofMillis(50), Duration.ofSeconds(1), 2.0, 0, false);
        Backoff b = new Backoff(c, RandomSource.seeded(1));
        assertThat(b.delay(0, Duration.ofSeconds(10))).isEqualTo(Duration.ofSeconds(1));
        assertThat(b.delay(10)).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aNegativeRetryIndexIsRejected() {
        assertThatThrownBy(() -> backoff(0, 1).delay(-1)).hasMessageStartingWith("retryIndex: -1");
    }

    @Test
    void configAdjustsWhatVllmRouterAdjustsAndRejectsTheRest() {
        RetryConfig d = RetryConfig.defaults();
        assertThat(new RetryConfig(0, d.initialBackoff(), d.maxBackoff(), 1.5, 0.2, false).maxAttempts()).isOne();
        assertThat(new RetryConfig(5, d.initialBackoff(), d.maxBackoff(), 1.5, 0.2, true).maxAttempts()).isOne();
        assertThat(new RetryConfig(5, d.initialBackoff(), d.maxBackoff(), 1.5, 1.7, false).jitter()).isEqualTo(1.0);
        assertThat(new RetryConfig(5, d.initialBackoff(), d.maxBackoff(), 1.5, -0.1, false).jitter()).isZero();
        assertThatThrownBy(() -> new RetryConfig(5, d.initialBackoff(), d.maxBackoff(), Double.NaN, 0.2, false))
                .hasMessageStartingWith("multiplier: NaN");
        assertThatThrownBy(() -> new RetryConfig(5, d.initialBackoff(), d.maxBackoff(), 1.5, Double.NaN, false))
                .hasMessageStartingWith("jitter: NaN");
        assertThatThrownBy(() -> new RetryConfig(5, Duration.ofMillis(-1), d.maxBackoff(), 1.5, 0.2, false))
                .hasMessageStartingWith("initialBackoff");
    }
}
