package dev.vllmrouter.common;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LogLimiterTest {
    /** Keeps every line logged through it. */
    private static final class Lines implements System.Logger {
        final List<String> lines = new ArrayList<>();

        @Override
        public String getName() {
            return "test";
        }

        @Override
        public boolean isLoggable(Level level) {
            return level.getSeverity() >= Level.INFO.getSeverity();
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            lines.add(msg + (thrown == null ? "" : " !" + thrown.getMessage()));
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            lines.add(format);
        }
    }

    private long now = 1_000;
    private final Lines log = new Lines();
    private final LogLimiter limiter = new LogLimiter(log, () -> now, Duration.ofSeconds(60), 3);

    @Test
    void theFirstOfAKeyIsLoggedRepeatsAreCountedAndSummedUpAfterTheInterval() {
        assertThat(limiter.log(Level.WARNING, "down", () -> "service down #1")).isTrue();
        now += Duration.ofSeconds(10).toNanos();
        assertThat(limiter.log(Level.WARNING, "down", () -> "service down #2")).isFalse();
        assertThat(limiter.log(Level.WARNING, "down", () -> "service down #3")).isFalse();
        assertThat(limiter.log(Level.WARNING, "other", () -> "other failure")).as("its own key").isTrue();
        now += Duration.ofSeconds(50).toNanos();
        assertThat(limiter.log(Level.WARNING, "down", () -> "service down #4")).isTrue();
        now += Duration.ofSeconds(60).toNanos();
        assertThat(limiter.log(Level.WARNING, "down", () -> "service down #5", new IllegalStateException("x")))
                .isTrue();
        assertThat(log.lines).containsExactly("service down #1", "other failure",
                "service down #4 (and 2 more like it since the last one logged)", "service down #5 !x");
    }

    @Test
    void levelsTheLoggerDropsCostNothingAndKeysStayBounded() {
        assertThat(limiter.log(Level.DEBUG, "d", () -> {
            throw new AssertionError("not built");
        })).isFalse();
        for (int i = 0; i < 10; i++) {
            assertThat(limiter.log(Level.WARNING, "key-" + i, () -> "line")).isTrue();
        }
        assertThat(log.lines).hasSize(10);
    }
}
