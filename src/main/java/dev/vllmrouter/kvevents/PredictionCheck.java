package dev.vllmrouter.kvevents;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;

/**
 * The closed loop of exact prefix-cache routing: compares, per worker, the cached prompt tokens a routing decision
 * predicted from the index with the {@code usage.prompt_tokens_details.cached_tokens} the worker's answer reported,
 * counts the outcomes for the metrics, and demotes a worker whose predictions keep missing to degraded.
 *
 * <p>Outcome of one check: {@code exact} (equal), {@code over} (the index claimed blocks the engine did not use: the
 * dangerous miss, the index lies), {@code under} (the engine had more: traffic from elsewhere, a degraded index, a CPU
 * tier, or blocks stored while the request waited). An answer whose usage has no {@code cached_tokens} counts as 0
 * once the worker has reported the field at least once (vLLM leaves it out for 0); before that the worker may not
 * have {@code --enable-prompt-tokens-details}, and nothing is checked.
 *
 * <p>Demotion, over the last {@value #WINDOW} checks of a worker: demoted when at least {@value #DEMOTE_AT} of them
 * over-predicted, lifted when at most {@value #LIFT_AT} did (hysteresis, so a worker does not flap). A demoted worker
 * is still routed with its index (degraded: under-reporting is safe) and keeps being checked, so it recovers by
 * itself once the index and the engine agree again.
 *
 * <p>Thread-safety: per worker one lock held for a few field updates; counters are read without it for metrics.
 */
public final class PredictionCheck {
    static final int WINDOW = 20;
    static final int DEMOTE_AT = 10;
    static final int LIFT_AT = 2;

    /** A reading of one worker's checks. */
    public record Counts(long exact, long over, long under, long predictedTokens, long reportedTokens,
                         int windowOver, int windowSize, boolean demoted) {
        /** Share of all checks whose prediction was exact, 0..1 (1 when none yet). */
        public double accuracy() {
            long all = exact + over + under;
            return all == 0 ? 1 : (double) exact / all;
        }
    }

    private final BiConsumer<String, Boolean> demote;
    private final ConcurrentHashMap<String, Track> tracks = new ConcurrentHashMap<>();

    /** @param demote called with (worker, true) to demote a worker, (worker, false) to lift it */
    public PredictionCheck(BiConsumer<String, Boolean> demote) {
        this.demote = demote;
    }

    /**
     * One answered request.
     *
     * @param reported the answer's {@code cached_tokens}, or a negative number when its usage had none
     */
    public void observed(String worker, int predicted, int reported) {
        Track t = tracks.computeIfAbsent(worker, w -> new Track());
        Boolean change = t.add(predicted, reported);
        if (change != null) {
            demote.accept(worker, change);
        }
    }

    /** The counts of {@code worker}, or {@code null} when it was never checked. */
    public Counts counts(String worker) {
        Track t = tracks.get(worker);
        Counts c = t == null ? null : t.counts();
        return c == null || c.exact() + c.over() + c.under() == 0 ? null : c;
    }

    /** Forgets a worker that left the fleet. */
    public void forget(String worker) {
        tracks.remove(worker);
    }

    private static final class Track {
        private final ReentrantLock lock = new ReentrantLock();
        private final boolean[] window = new boolean[WINDOW];
        private int size;
        private int next;
        private int overInWindow;
        private boolean reportsDetails;
        private boolean demoted;
        private volatile long exact;
        private volatile long over;
        private volatile long under;
        private volatile long predictedTokens;
        private volatile long reportedTokens;

        /** Records a check; returns the demotion to apply ({@code true}/{@code false}) or {@code null}. */
        Boolean add(int predicted, int reported) {
            lock.lock();
            try {
                if (reported < 0) {
                    if (!reportsDetails) {
                        return null;
                    }
                    reported = 0;
                } else {
                    reportsDetails = true;
                }
                boolean isOver = predicted > reported;
                if (predicted == reported) {
                    exact++;
                } else if (isOver) {
                    over++;
                } else {
                    under++;
                }
                predictedTokens += predicted;
                reportedTokens += reported;
                if (size == WINDOW && window[next]) {
                    overInWindow--;
                }
                window[next] = isOver;
                if (isOver) {
                    overInWindow++;
                }
                next = (next + 1) % WINDOW;
                size = Math.min(WINDOW, size + 1);
                if (!demoted && overInWindow >= DEMOTE_AT) {
                    demoted = true;
                    return Boolean.TRUE;
                }
                if (demoted && overInWindow <= LIFT_AT) {
                    demoted = false;
                    return Boolean.FALSE;
                }
                return null;
            } finally {
                lock.unlock();
            }
        }

        Counts counts() {
            lock.lock();
            try {
                return new Counts(exact, over, under, predictedTokens, reportedTokens, overInWindow, size, demoted);
            } finally {
                lock.unlock();
            }
        }
    }
}
