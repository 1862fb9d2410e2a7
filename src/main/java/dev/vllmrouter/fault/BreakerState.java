package dev.vllmrouter.fault;

import dev.vllmrouter.fault.CircuitBreaker.Permit;
import dev.vllmrouter.fault.CircuitBreaker.State;

/**
 * Everything a {@link CircuitBreaker} knows, as one immutable value, with its transitions as pure functions of
 * (state, event, ticker reading, config). A method returns {@code this} when the event changes nothing, which lets the
 * breaker skip the compare-and-set.
 *
 * @param phase      CLOSED, OPEN or HALF_OPEN
 * @param since      ticker nanos of the last transition (OPEN: when it opened)
 * @param generation incremented by every transition; trial permits carry it so that a late outcome of an earlier
 *                   half-open period cannot be counted in this one
 * @param failures   CLOSED: failures within the window; otherwise empty
 * @param trials     HALF_OPEN: trial permits out; otherwise 0. Invariant: {@code 0 <= trials <= halfOpenTrials}
 * @param successes  HALF_OPEN: trial successes so far; otherwise 0
 */
record BreakerState(State phase, long since, long generation, FailureWindow failures, int trials, int successes) {

    static BreakerState initial(long now) {
        return new BreakerState(State.CLOSED, now, 0, FailureWindow.EMPTY, 0, 0);
    }

    /** The lazy timer: an OPEN breaker whose open time is up is HALF_OPEN with no trial out. */
    BreakerState advance(long now, CircuitBreakerConfig config) {
        return phase == State.OPEN && now - since >= config.openNanos() ? to(State.HALF_OPEN, now) : this;
    }

    boolean admits(CircuitBreakerConfig config) {
        return switch (phase) {
            case CLOSED -> true;
            case OPEN -> false;
            case HALF_OPEN -> trials < config.halfOpenTrials();
        };
    }

    BreakerState withTrialTaken() {
        return new BreakerState(phase, since, generation, failures, trials + 1, successes);
    }

    /** A success never changes a closed breaker: failures age out of the window instead of being forgiven. */
    BreakerState succeeded(Permit permit, CircuitBreakerConfig config, long now) {
        if (!ownsTrial(permit)) {
            return this;
        }
        if (successes + 1 >= config.successThreshold()) {
            return to(State.CLOSED, now);
        }
        return new BreakerState(phase, since, generation, failures, trials - 1, successes + 1);
    }

    BreakerState failed(Permit permit, CircuitBreakerConfig config, long now) {
        if (phase == State.CLOSED) {
            // every failure seen while closed counts, also one from a call admitted before the last opening
            FailureWindow recorded = failures.record(now, config.windowNanos());
            return recorded.size() >= config.failureThreshold()
                    ? to(State.OPEN, now)
                    : new BreakerState(phase, since, generation, recorded, 0, 0);
        }
        return ownsTrial(permit) ? to(State.OPEN, now) : this;
    }

    BreakerState released(Permit permit) {
        return ownsTrial(permit) ? new BreakerState(phase, since, generation, failures, trials - 1, successes) : this;
    }

    /**
     * Whether an outcome belongs to a trial of the current half-open period. A tagged permit must be a trial of this
     * generation. An untagged outcome ({@code null}, from the boolean API) is taken for one when any trial is out;
     * with none out it can only be a straggler admitted before the breaker opened, and is ignored.
     */
    private boolean ownsTrial(Permit permit) {
        if (phase != State.HALF_OPEN || trials == 0) {
            return false;
        }
        return permit == null || permit.isTrial() && permit.generation() == generation;
    }

    private BreakerState to(State next, long now) {
        return new BreakerState(next, now, generation + 1, FailureWindow.EMPTY, 0, 0);
    }
}
