package dev.vllmrouter.worker;

/**
 * The work on one worker that other senders (other router replicas, direct clients) put there, estimated from the
 * worker's own queue as sampled every {@code --load-check-interval-secs}, and discounted for how stale a sample gets
 * before the next one.
 *
 * <p>Invariant: after {@link #sample}, {@link #estimate()} is
 * {@code round(max(0, reported − own) × exp(−(Δ / 2) / τ))}, where {@code reported} is the worker's running + waiting,
 * {@code own} this router's in-flight requests there at that moment, {@code Δ} the time since the previous sample (a
 * sample is on average Δ/2 old while it is used) and {@code τ} this router's mean request duration on the worker by
 * Little's law: the moving average of its in-flight count over the moving average of its arrival rate (requests
 * started between samples per unit of time). Others' requests end and start on the same time scale as this router's,
 * so a sample older than about τ says little about now; a stale figure taken at full weight makes every replica
 * avoid the worker that was busy and crowd the one that was idle, which is worse than not sampling at all (measured
 * in bench/quality.sh, "Router replicas"). With no traffic of its own (τ unknown) or on the first sample the weight
 * is 1. The discount is the same for every worker sampled in one round, so the order of their external loads is
 * kept; only their weight against this router's own, always current, in-flight count shrinks.
 *
 * <p>Thread-safety: {@link #sample} is called by one thread at a time (the monitor's call for this worker's server);
 * {@link #estimate()} is a volatile read.
 */
final class ExternalLoad {
    /** Weight of the newest sample in the moving averages. */
    static final double ALPHA = 0.2;

    private volatile int estimate;
    private long lastNanos = Long.MIN_VALUE;
    private long lastArrivals;
    private double meanInFlight = -1;
    private double meanArrivalsPerNano = -1;

    int estimate() {
        return estimate;
    }

    /** A sample without time (tests, callers without a clock): taken at full weight. */
    void sampleFresh(int reported, int ownInFlight) {
        estimate = Math.max(0, reported - ownInFlight);
    }

    /**
     * @param reported    the worker's running + waiting requests, as it reported them
     * @param ownInFlight this router's requests in flight on it now
     * @param arrivals    requests this router has started on it so far (a counter)
     * @param nowNanos    the time of the sample
     */
    void sample(int reported, int ownInFlight, long arrivals, long nowNanos) {
        double weight = 1;
        if (lastNanos != Long.MIN_VALUE && nowNanos > lastNanos) {
            long interval = nowNanos - lastNanos;
            double rate = (double) (arrivals - lastArrivals) / interval;
            meanArrivalsPerNano = average(meanArrivalsPerNano, rate);
            meanInFlight = average(meanInFlight, ownInFlight);
            if (meanArrivalsPerNano > 0 && meanInFlight > 0) {
                double tau = meanInFlight / meanArrivalsPerNano;
                weight = Math.exp(-(interval / 2.0) / tau);
            }
        }
        lastNanos = nowNanos;
        lastArrivals = arrivals;
        estimate = (int) Math.round(Math.max(0, reported - ownInFlight) * weight);
    }

    private static double average(double mean, double sample) {
        return mean < 0 ? sample : mean + ALPHA * (sample - mean);
    }

    void clear() {
        estimate = 0;
    }
}
