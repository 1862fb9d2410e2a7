package dev.vllmrouter.worker;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ExternalLoadTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aFreshSampleCountsWhatTheWorkerReportsBeyondThisRoutersOwnRequests() {
        ExternalLoad load = new ExternalLoad();
        load.sampleFresh(10, 3);
        assertThat(load.estimate()).isEqualTo(7);
        load.sampleFresh(2, 3);
        assertThat(load.estimate()).as("never negative").isZero();
    }

    @Test
    void theFirstTimedSampleAndOneWithoutOwnTrafficAreTakenAtFullWeight() {
        ExternalLoad load = new ExternalLoad();
        load.sample(10, 0, 0, 0);
        assertThat(load.estimate()).isEqualTo(10);
        load.sample(10, 0, 0, 5 * SECOND); // no request of our own since: no request duration to judge staleness by
        assertThat(load.estimate()).isEqualTo(10);
    }

    @Test
    void aSampleIsDiscountedByHowStaleItGetsAgainstTheMeanRequestDuration() {
        ExternalLoad load = new ExternalLoad();
        load.sample(12, 2, 0, 0);
        // 4 requests of ours started in 1 s with 2 in flight: Little's law gives 0.5 s per request; a 1 s period
        // leaves a sample 0.5 s old on average, one mean duration: weight e^-1
        load.sample(12, 2, 4, SECOND);
        assertThat(load.estimate()).isEqualTo((int) Math.round(10 * Math.exp(-1)));
        // the same traffic (one request of ours every 250 ms) sampled every 50 ms: nearly full weight
        ExternalLoad often = new ExternalLoad();
        long arrivals = 0;
        for (int i = 0; i < 40; i++) {
            if (i % 5 == 0) {
                arrivals++;
            }
            often.sample(12, 2, arrivals, i * SECOND / 20);
        }
        assertThat(often.estimate()).isBetween(9, 10);
    }

    @Test
    void aSampleTakenAfterALongPauseSaysLittle() {
        ExternalLoad load = new ExternalLoad();
        load.sample(20, 2, 0, 0);
        load.sample(20, 2, 40, 10 * SECOND); // 4 per second, 2 in flight: 0.5 s per request; 5 s old on average
        assertThat(load.estimate()).isZero();
    }

    @Test
    void clearingForgetsTheEstimate() {
        ExternalLoad load = new ExternalLoad();
        load.sampleFresh(5, 0);
        load.clear();
        assertThat(load.estimate()).isZero();
    }
}
