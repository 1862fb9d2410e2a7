package dev.vllmrouter.tracing;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SamplerTest {
    private static final String SPAN = "00f067aa0ba902b7";

    private static String traceWithLow(String low16) {
        return "4bf92f3577b34da6" + low16;
    }

    @Test
    void anIncomingContextDecidesWhateverTheRatio() {
        TraceContext sampled = new TraceContext(traceWithLow("ffffffffffffffff"), SPAN, true, null);
        TraceContext unsampled = new TraceContext(traceWithLow("0000000000000001"), SPAN, false, null);

        assertThat(new Sampler(0).sample(sampled, sampled.traceId())).isTrue();
        assertThat(new Sampler(1).sample(unsampled, unsampled.traceId())).isFalse();
    }

    @Test
    void ratioOneSamplesEveryRootAndZeroNone() {
        for (String low : new String[] {"0000000000000000", "7fffffffffffffff", "ffffffffffffffff"}) {
            assertThat(new Sampler(1).sample(null, traceWithLow(low))).as(low).isTrue();
            assertThat(new Sampler(0).sample(null, traceWithLow(low))).as(low).isFalse();
        }
    }

    @Test
    void aRootIsSampledWhenTheLow63BitsOfItsTraceIdAreBelowRatioTimesTwoTo63() {
        Sampler half = new Sampler(0.5); // bound 2^62: low >>> 1 must be below it
        assertThat(half.sample(null, traceWithLow("7fffffffffffffff"))).isTrue();
        assertThat(half.sample(null, traceWithLow("8000000000000000"))).isFalse();
        // the high half of the trace id plays no part
        assertThat(half.sample(null, "ffffffffffffffff" + "7ffffffffffffffe")).isTrue();
    }

    @Test
    void theDecisionDependsOnTheTraceIdOnly() {
        Sampler a = new Sampler(0.3);
        Sampler b = new Sampler(0.3);
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 1000; i++) {
            String id = TraceContext.newTraceId(random::nextLong);
            assertThat(a.sample(null, id)).as(id).isEqualTo(b.sample(null, id)).isEqualTo(a.sample(null, id));
        }
    }

    @Test
    void theShareOfSampledRootsFollowsTheRatio() {
        Sampler sampler = new Sampler(0.25);
        SplittableRandom random = new SplittableRandom(42); // seeded: the count is the same on every run
        int sampled = 0;
        for (int i = 0; i < 20_000; i++) {
            if (sampler.sample(null, TraceContext.newTraceId(random::nextLong))) {
                sampled++;
            }
        }
        assertThat(sampled).isBetween(4_700, 5_300);
    }

    @Test
    void aRatioOutsideZeroToOneIsRefused() {
        assertThatThrownBy(() -> new Sampler(1.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Sampler(-0.1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Sampler(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }
}
