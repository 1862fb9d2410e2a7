package dev.vllmrouter.fault;

import java.lang.System.Logger.Level;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

import dev.vllmrouter.common.Ticker;

/**
 * One worker's circuit breaker: CLOSED lets every call through and opens when {@code failureThreshold} failures
 * happened within the last {@code window}; OPEN rejects calls for {@code openDuration}; then HALF_OPEN admits at most
 * {@code halfOpenTrials} calls at once, closes after {@code successThreshold} trial successes and reopens (restarting
 * the timer) on any trial failure. Parameters and defaults: {@link CircuitBreakerConfig}.
 * <p>Differences from vllm-router (reference §9.2, §13.5), on purpose: its breaker counts <em>consecutive</em>
 * failures and ignores its window flag, so a worker failing every other request never opens. Here a success does not
 * forgive earlier failures; they age out of the window ({@link FailureWindow}). The threshold is an absolute count,
 * not a rate: with the defaults a worker that returns a 5xx more often than once per 12 s is taken out whatever its
 * volume, which suits vLLM, where a 5xx means an engine in trouble rather than background noise. Half-open trials are
 * limited (vllm-router admits everything once half-open).
 * <p>Outcomes: {@link #isFailure(int)} (5xx) or a transport failure reported with {@link #onFailure()}; 4xx are the
 * client's fault and count as success. Call {@link #tryAcquire()} before sending, then exactly one of
 * {@link #onSuccess()}, {@link #onFailure()} or {@link #release()} (admitted, abandoned without an outcome). The
 * {@link Permit} variants do the same and tie the outcome to the half-open period that admitted the call, so a stream
 * that started before the breaker opened and ends during a later half-open period is not taken for a trial; with the
 * boolean API such a straggler is ignored only when no trial is out. Outcomes reported while OPEN are ignored.
 * <p>Invariant: in one half-open period at most {@code halfOpenTrials} trial permits are out at once.
 * <p>Thread-safety: lock-free. All state is one immutable {@link BreakerState} in an {@link AtomicReference}, replaced
 * by compare-and-set; OPEN becomes HALF_OPEN lazily when a call or {@link #state()} looks at it after the open time
 * (no timer thread). Only the thread whose CAS made a transition calls the listener, outside any lock; listeners of
 * different transitions can run concurrently, so a metric of the current state should read {@link #state()}.
 * While CLOSED, admitting a call and recording a success (the common case) is one volatile read and no write.
 */
public final class CircuitBreaker {
    private static final System.Logger LOG = System.getLogger(CircuitBreaker.class.getName());

    public enum State { CLOSED, OPEN, HALF_OPEN }

    /** Told about every transition, by the thread that made it. Must be quick and must not call back in. */
    @FunctionalInterface
    public interface TransitionListener {
        void onTransition(State from, State to);
    }

    /** An admission; a trial permit (admitted while HALF_OPEN) names the half-open period that issued it. */
    public static final class Permit {
        static final Permit NON_TRIAL = new Permit(-1, false);

        private final long generation;
        private final boolean trial;

        private Permit(long generation, boolean trial) {
            this.generation = generation;
            this.trial = trial;
        }

        public boolean isTrial() {
            return trial;
        }

        long generation() {
            return generation;
        }

        @Override
        public String toString() {
            return trial ? "Permit[trial, generation " + generation + "]" : "Permit[closed]";
        }
    }

    private final CircuitBreakerConfig config;
    private final Ticker ticker;
    private final TransitionListener listener;
    private final AtomicReference<BreakerState> state;

    public CircuitBreaker(CircuitBreakerConfig config, Ticker ticker, TransitionListener listener) {
        this.config = Objects.requireNonNull(config, "config");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.state = new AtomicReference<>(BreakerState.initial(ticker.nanos()));
    }

    public CircuitBreaker(CircuitBreakerConfig config, Ticker ticker) {
        this(config, ticker, (from, to) -> { });
    }

    /** Whether a worker answering with {@code httpStatus} failed: 5xx. A 4xx is the client's fault. */
    public static boolean isFailure(int httpStatus) {
        return httpStatus >= 500 && httpStatus <= 599;
    }

    public CircuitBreakerConfig config() {
        return config;
    }

    /** Admits a call (taking a trial permit when HALF_OPEN) or rejects it. */
    public boolean tryAcquire() {
        return acquire() != null;
    }

    /** Admits a call and returns its permit, or {@code null} when the breaker rejects it. */
    public Permit acquire() {
        if (config.disabled()) {
            return Permit.NON_TRIAL;
        }
        while (true) {
            BreakerState seen = state.get();
            if (seen.phase() == State.CLOSED) {
                return Permit.NON_TRIAL;
            }
            BreakerState current = seen.advance(ticker.nanos(), config);
            boolean admitted = current.admits(config);
            BreakerState next = admitted ? current.withTrialTaken() : current;
            if (next == seen || state.compareAndSet(seen, next)) {
                announce(seen, current, next);
                return admitted ? new Permit(current.generation(), true) : null;
            }
        }
    }

    public void onSuccess() {
        onSuccess(null);
    }

    public void onFailure() {
        onFailure(null);
    }

    /** Gives back the trial permit of an admitted call that ends without an outcome (the client left). */
    public void release() {
        release(null);
    }

    public void onSuccess(Permit permit) {
        if (!config.disabled() && state.get().phase() != State.CLOSED) {
            update(Event.SUCCESS, permit);
        }
    }

    public void onFailure(Permit permit) {
        if (!config.disabled()) {
            update(Event.FAILURE, permit);
        }
    }

    public void release(Permit permit) {
        if (!config.disabled() && state.get().phase() != State.CLOSED) {
            update(Event.RELEASE, permit);
        }
    }

    /** The current state, after moving an expired OPEN to HALF_OPEN (which notifies the listener). */
    public State state() {
        if (config.disabled()) {
            return State.CLOSED;
        }
        return update(Event.LOOK, null).phase();
    }

    /** Whether {@link #tryAcquire()} would admit a call now; changes nothing. */
    public boolean allowsTraffic() {
        return config.disabled() || state.get().advance(ticker.nanos(), config).admits(config);
    }

    private enum Event { SUCCESS, FAILURE, RELEASE, LOOK }

    private BreakerState update(Event event, Permit permit) {
        while (true) {
            BreakerState seen = state.get();
            long now = ticker.nanos(); // read after the state, so it is not older than a failure already recorded
            BreakerState current = seen.advance(now, config);
            BreakerState next = switch (event) {
                case SUCCESS -> current.succeeded(permit, config, now);
                case FAILURE -> current.failed(permit, config, now);
                case RELEASE -> current.released(permit);
                case LOOK -> current;
            };
            if (next == seen || state.compareAndSet(seen, next)) {
                announce(seen, current, next);
                return next;
            }
        }
    }

    /** Called only by the thread whose CAS (or no-op) published {@code next} over {@code seen}. */
    private void announce(BreakerState seen, BreakerState current, BreakerState next) {
        if (seen.phase() != current.phase()) {
            notifyListener(seen.phase(), current.phase());
        }
        if (current.phase() != next.phase()) {
            notifyListener(current.phase(), next.phase());
        }
    }

    private void notifyListener(State from, State to) {
        try {
            listener.onTransition(from, to);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "circuit breaker listener failed on " + from + " -> " + to, e);
        }
    }

    @Override
    public String toString() {
        return "CircuitBreaker[" + (config.disabled() ? "disabled" : state.get()) + "]";
    }
}
