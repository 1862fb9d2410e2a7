package dev.vllmrouter.fault;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.fault.CircuitBreaker.Permit;
import dev.vllmrouter.fault.CircuitBreaker.State;

import static dev.vllmrouter.fault.CircuitBreaker.State.CLOSED;
import static dev.vllmrouter.fault.CircuitBreaker.State.HALF_OPEN;
import static dev.vllmrouter.fault.CircuitBreaker.State.OPEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CircuitBreakerTest {
    private static final long SECOND = 1_000_000_000L;

    private final AtomicLong clock = new AtomicLong(1_000 * SECOND);
    private final List<String> transitions = new ArrayList<>();

    private CircuitBreaker breaker(CircuitBreakerConfig config) {
        return new CircuitBreaker(config, clock::get, (from, to) -> transitions.add(from + "->" + to));
    }

    private static CircuitBreakerConfig withTrials(int trials) {
        CircuitBreakerConfig d = CircuitBreakerConfig.defaults();
        return new CircuitBreakerConfig(d.failureThreshold(), d.successThreshold(), d.openDuration(), d.window(),
                trials, false);
    }

    private static void fail(CircuitBreaker cb, int times) {
        for (int i = 0; i < times; i++) {
            cb.onFailure();
        }
    }

    /** Opens the breaker with the defaults and moves the clock to the end of its open time. */
    private CircuitBreaker halfOpen(CircuitBreakerConfig config) {
        CircuitBreaker cb = breaker(config);
        fail(cb, config.failureThreshold());
        clock.addAndGet(config.openDuration().toNanos());
        assertThat(cb.state()).isEqualTo(HALF_OPEN);
        transitions.clear();
        return cb;
    }

    @Test
    void defaultsAreVllmRoutersFlags() {
        assertThat(CircuitBreakerConfig.defaults()).isEqualTo(new CircuitBreakerConfig(10, 3, Duration.ofSeconds(60),
                Duration.ofSeconds(120), 1, false));
    }

    @Test
    void opensAtTheThresholdFailureNotBefore() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        fail(cb, 9);
        assertThat(cb.state()).isEqualTo(CLOSED);
        assertThat(cb.tryAcquire()).isTrue();
        cb.onFailure();
        assertThat(cb.state()).isEqualTo(OPEN);
        assertThat(cb.tryAcquire()).isFalse();
        assertThat(cb.allowsTraffic()).isFalse();
        assertThat(transitions).containsExactly("CLOSED->OPEN");
    }

    @Test
    void successesDoNotForgiveFailuresInTheWindow() {
        // vllm-router resets on success, so a worker failing every other call would never open there
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        for (int i = 0; i < 9; i++) {
            cb.onFailure();
            cb.onSuccess();
            clock.addAndGet(SECOND);
        }
        assertThat(cb.state()).isEqualTo(CLOSED);
        cb.onFailure();
        assertThat(cb.state()).isEqualTo(OPEN);
    }

    @Test
    void failuresSpreadJustBeyondTheWindowNeverOpen() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        long step = 120 * SECOND / 9 + 1; // the 1st and the 10th failure are more than 120 s apart
        for (int i = 0; i < 100; i++) {
            cb.onFailure();
            clock.addAndGet(step);
        }
        assertThat(cb.state()).isEqualTo(CLOSED);
        assertThat(transitions).isEmpty();
    }

    @Test
    void failuresSpreadJustInsideTheWindowOpen() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        long step = 120 * SECOND / 9 - 1;
        for (int i = 0; i < 9; i++) {
            cb.onFailure();
            clock.addAndGet(step);
        }
        cb.onFailure();
        assertThat(cb.state()).isEqualTo(OPEN);
    }

    @Test
    void aFailureExactlyOneWindowOldNoLongerCounts() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        cb.onFailure();
        clock.addAndGet(120 * SECOND - 1);
        fail(cb, 8);
        clock.addAndGet(1); // the first failure is now exactly 120 s old
        cb.onFailure();
        assertThat(cb.state()).as("9 failures in the window").isEqualTo(CLOSED);
        cb.onFailure();
        assertThat(cb.state()).isEqualTo(OPEN);
    }

    @Test
    void aBurstOlderThanTheWindowDoesNotOpen() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        fail(cb, 9);
        clock.addAndGet(120 * SECOND);
        fail(cb, 9);
        assertThat(cb.state()).isEqualTo(CLOSED);
        cb.onFailure();
        assertThat(cb.state()).isEqualTo(OPEN);
    }

    @Test
    void openRejectsUntilTheOpenDurationThenGoesHalfOpenLazily() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        fail(cb, 10);
        clock.addAndGet(60 * SECOND - 1);
        assertThat(cb.tryAcquire()).isFalse();
        assertThat(cb.allowsTraffic()).isFalse();
        assertThat(cb.state()).isEqualTo(OPEN);
        clock.addAndGet(1);
        assertThat(cb.allowsTraffic()).isTrue();
        assertThat(transitions).as("allowsTraffic changes nothing").containsExactly("CLOSED->OPEN");
        assertThat(cb.state()).isEqualTo(HALF_OPEN);
        assertThat(transitions).containsExactly("CLOSED->OPEN", "OPEN->HALF_OPEN");
    }

    @Test
    void outcomesWhileOpenAreIgnoredAndDoNotRestartTheTimer() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        fail(cb, 10);
        clock.addAndGet(30 * SECOND);
        fail(cb, 5);
        cb.onSuccess();
        cb.release();
        clock.addAndGet(30 * SECOND);
        assertThat(cb.tryAcquire()).isTrue();
        assertThat(cb.state()).isEqualTo(HALF_OPEN);
    }

    @Test
    void halfOpenAdmitsOneTrialAtATimeByDefault() {
        CircuitBreaker cb = halfOpen(CircuitBreakerConfig.defaults());
        assertThat(cb.tryAcquire()).isTrue();
        assertThat(cb.tryAcquire()).isFalse();
        assertThat(cb.allowsTraffic()).isFalse();
        cb.onSuccess();
        assertThat(cb.allowsTraffic()).isTrue();
        assertThat(cb.tryAcquire()).isTrue();
        assertThat(cb.state()).isEqualTo(HALF_OPEN);
    }

    @Test
    void halfOpenAdmitsHalfOpenTrialsAtOnce() {
        CircuitBreaker cb = halfOpen(withTrials(3));
        assertThat(cb.tryAcquire()).isTrue();
        assertThat(cb.tryAcquire()).isTrue();
        assertThat(cb.tryAcquire()).isTrue();
        assertThat(cb.tryAcquire()).isFalse();
    }

    @Test
    void successThresholdTrialSuccessesClose() {
        CircuitBreaker cb = halfOpen(CircuitBreakerConfig.defaults());
        for (int i = 0; i < 2; i++) {
            assertThat(cb.tryAcquire()).isTrue();
            cb.onSuccess();
        }
        assertThat(cb.state()).isEqualTo(HALF_OPEN);
        assertThat(cb.tryAcquire()).isTrue();
        cb.onSuccess();
        assertThat(cb.state()).isEqualTo(CLOSED);
        assertThat(transitions).containsExactly("HALF_OPEN->CLOSED");
        fail(cb, 9);
        assertThat(cb.state()).as("the window starts empty after closing").isEqualTo(CLOSED);
    }

    @Test
    void aTrialFailureReopensAndRestartsTheTimer() {
        CircuitBreaker cb = halfOpen(CircuitBreakerConfig.defaults());
        assertThat(cb.tryAcquire()).isTrue();
        cb.onSuccess();
        assertThat(cb.tryAcquire()).isTrue();
        clock.addAndGet(5 * SECOND);
        cb.onFailure();
        assertThat(cb.state()).isEqualTo(OPEN);
        clock.addAndGet(60 * SECOND - 1);
        assertThat(cb.tryAcquire()).isFalse();
        clock.addAndGet(1);
        assertThat(cb.tryAcquire()).isTrue();
        cb.onSuccess();
        cb.tryAcquire();
        cb.onSuccess();
        assertThat(cb.state()).as("the success before the reopening does not count").isEqualTo(HALF_OPEN);
        assertThat(transitions).containsExactly("HALF_OPEN->OPEN", "OPEN->HALF_OPEN");
    }

    @Test
    void releaseReturnsTheTrialPermitWithoutCountingAsSuccess() {
        CircuitBreaker cb = halfOpen(CircuitBreakerConfig.defaults());
        assertThat(cb.tryAcquire()).isTrue();
        cb.release();
        for (int i = 0; i < 2; i++) {
            assertThat(cb.tryAcquire()).isTrue();
            cb.onSuccess();
        }
        assertThat(cb.state()).isEqualTo(HALF_OPEN);
    }

    @Test
    void aStreamAdmittedBeforeOpeningIsNotTakenForATrial() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        Permit longStream = cb.acquire();
        assertThat(longStream.isTrial()).isFalse();
        fail(cb, 10);
        clock.addAndGet(60 * SECOND);
        Permit trial = cb.acquire();
        assertThat(trial.isTrial()).isTrue();
        cb.onSuccess(longStream);
        cb.release(longStream);
        assertThat(cb.tryAcquire()).as("the straggler freed no permit").isFalse();
        cb.onFailure(longStream);
        assertThat(cb.state()).as("the straggler's failure does not reopen").isEqualTo(HALF_OPEN);
        cb.onSuccess(trial);
        assertThat(cb.tryAcquire()).isTrue();
    }

    @Test
    void untaggedOutcomesWithNoTrialOutAreStragglersAndIgnored() {
        CircuitBreaker cb = halfOpen(CircuitBreakerConfig.defaults());
        cb.onFailure();
        cb.onSuccess();
        cb.onSuccess();
        cb.onSuccess();
        assertThat(cb.state()).isEqualTo(HALF_OPEN);
        assertThat(transitions).isEmpty();
    }

    @Test
    void aTrialOfAnEarlierHalfOpenPeriodDoesNotCountInTheNextOne() {
        CircuitBreaker cb = halfOpen(withTrials(2));
        Permit old = cb.acquire();
        Permit failing = cb.acquire();
        cb.onFailure(failing);
        clock.addAndGet(60 * SECOND);
        Permit current = cb.acquire();
        assertThat(current.isTrial()).isTrue();
        cb.onFailure(old);
        assertThat(cb.state()).isEqualTo(HALF_OPEN);
        cb.release(old);
        assertThat(cb.tryAcquire()).isTrue();
        assertThat(cb.tryAcquire()).as("2 trials out: current and the last one").isFalse();
    }

    @Test
    void aFailureOfAnEarlierCallCountsOnceClosedAgain() {
        CircuitBreaker cb = halfOpen(CircuitBreakerConfig.defaults());
        Permit p = null;
        for (int i = 0; i < 3; i++) {
            p = cb.acquire();
            cb.onSuccess(p);
        }
        assertThat(cb.state()).isEqualTo(CLOSED);
        fail(cb, 9);
        cb.onFailure(p);
        assertThat(cb.state()).isEqualTo(OPEN);
    }

    @Test
    void disabledNeverOpens() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults().asDisabled());
        for (int i = 0; i < 1000; i++) {
            assertThat(cb.tryAcquire()).isTrue();
            cb.onFailure();
        }
        clock.addAndGet(600 * SECOND);
        assertThat(cb.state()).isEqualTo(CLOSED);
        assertThat(cb.allowsTraffic()).isTrue();
        assertThat(transitions).isEmpty();
    }

    @Test
    void aThrowingListenerDoesNotBreakTheBreaker() {
        CircuitBreaker cb = new CircuitBreaker(CircuitBreakerConfig.defaults(), clock::get, (from, to) -> {
            throw new IllegalStateException("listener bug");
        });
        fail(cb, 10);
        assertThat(cb.state()).isEqualTo(OPEN);
    }

    @Test
    void onlyServerErrorsAreFailures() {
        assertThat(CircuitBreaker.isFailure(500)).isTrue();
        assertThat(CircuitBreaker.isFailure(503)).isTrue();
        assertThat(CircuitBreaker.isFailure(599)).isTrue();
        for (int status : new int[] {200, 204, 400, 404, 408, 429, 499, 600}) {
            assertThat(CircuitBreaker.isFailure(status)).as("status %d", status).isFalse();
        }
    }

    @Test
    void invalidSettingsFailWithTheParameterName() {
        Duration m = Duration.ofSeconds(60);
        assertThatThrownBy(() -> new CircuitBreakerConfig(0, 3, m, m, 1, false))
                .hasMessageStartingWith("failureThreshold: 0");
        assertThatThrownBy(() -> new CircuitBreakerConfig(10_001, 3, m, m, 1, false))
                .hasMessageContaining("disable");
        assertThatThrownBy(() -> new CircuitBreakerConfig(10, 0, m, m, 1, false))
                .hasMessageStartingWith("successThreshold: 0");
        assertThatThrownBy(() -> new CircuitBreakerConfig(10, 3, Duration.ofSeconds(-1), m, 1, false))
                .hasMessageStartingWith("openDuration");
        assertThatThrownBy(() -> new CircuitBreakerConfig(10, 3, m, Duration.ZERO, 1, false))
                .hasMessageStartingWith("window");
        assertThatThrownBy(() -> new CircuitBreakerConfig(10, 3, m, m, 0, false))
                .hasMessageStartingWith("halfOpenTrials: 0");
    }

    @Test
    void aClockReadingOlderThanTheLastFailureKeepsTheWindowOrdered() {
        FailureWindow w = FailureWindow.EMPTY.record(100, 50).record(90, 50).record(140, 50);
        assertThat(w.toString()).isEqualTo("FailureWindow[100, 100, 140]");
        assertThat(w.record(150, 50).toString()).isEqualTo("FailureWindow[140, 150]");
    }

    @Test
    void stateIsClosedInitially() {
        CircuitBreaker cb = breaker(CircuitBreakerConfig.defaults());
        assertThat(cb.state()).isEqualTo(State.CLOSED);
        assertThat(cb.allowsTraffic()).isTrue();
    }
}
