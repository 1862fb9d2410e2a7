package dev.vllmrouter.tracing;

import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingDecision;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RatioSamplerTest {
    private static final String SPAN = "00f067aa0ba902b7";

    private static String traceWithLow(String low16) {
        return "4bf92f3577b34da6" + low16;
    }

    private static String randomTraceId(SplittableRandom random) {
        return HexFormat.of().toHexDigits(random.nextLong()) + HexFormat.of().toHexDigits(random.nextLong());
    }

    private static SamplingDecision decide(Sampler sampler, Context parent, String traceId) {
        return sampler.shouldSample(parent, traceId, "POST /v1/completions", SpanKind.SERVER, Attributes.empty(),
                List.of()).getDecision();
    }

    private static Context remoteParent(String traceId, boolean sampled) {
        return Context.root().with(Span.wrap(SpanContext.createFromRemoteParent(traceId, SPAN,
                sampled ? TraceFlags.getSampled() : TraceFlags.getDefault(), TraceState.getDefault())));
    }

    @Test
    void parentBasedAnIncomingContextDecidesWhateverTheRatio() {
        String id = traceWithLow("ffffffffffffffff");
        assertThat(decide(RatioSampler.of(new TracingConfig.Sampling(true, 0)), remoteParent(id, true), id))
                .isEqualTo(SamplingDecision.RECORD_AND_SAMPLE);
        assertThat(decide(RatioSampler.of(new TracingConfig.Sampling(true, 1)), remoteParent(id, false), id))
                .isEqualTo(SamplingDecision.DROP);
        assertThat(decide(RatioSampler.of(new TracingConfig.Sampling(true, 1)), Context.root(), id))
                .as("a root is the ratio's to decide").isEqualTo(SamplingDecision.RECORD_AND_SAMPLE);
    }

    @Test
    void notParentBasedTheRatioDecidesEvenUnderASampledParent() {
        String id = traceWithLow("ffffffffffffffff");
        assertThat(decide(RatioSampler.of(new TracingConfig.Sampling(false, 0)), remoteParent(id, true), id))
                .isEqualTo(SamplingDecision.DROP);
    }

    @Test
    void ratioOneSamplesEveryRootAndZeroNone() {
        for (String low : new String[] {"0000000000000000", "7fffffffffffffff", "ffffffffffffffff"}) {
            assertThat(new RatioSampler(1).sampled(traceWithLow(low))).as(low).isTrue();
            assertThat(new RatioSampler(0).sampled(traceWithLow(low))).as(low).isFalse();
        }
    }

    @Test
    void aRootIsSampledWhenTheLow63BitsOfItsTraceIdAreBelowRatioTimesTwoTo63() {
        RatioSampler half = new RatioSampler(0.5); // bound 2^62: low >>> 1 must be below it
        assertThat(half.sampled(traceWithLow("7fffffffffffffff"))).isTrue();
        assertThat(half.sampled(traceWithLow("8000000000000000"))).isFalse();
        // the high half of the trace id plays no part
        assertThat(half.sampled("ffffffffffffffff" + "7ffffffffffffffe")).isTrue();
        // where the Java SDK's own ratio sampler (|low 64 bits| < ratio * Long.MAX_VALUE) would keep it
        assertThat(half.sampled(traceWithLow("c000000000000002"))).isFalse();
        assertThat(decide(Sampler.traceIdRatioBased(0.5), Context.root(), traceWithLow("c000000000000002")))
                .isEqualTo(SamplingDecision.RECORD_AND_SAMPLE);
    }

    @Test
    void theDecisionDependsOnTheTraceIdOnly() {
        RatioSampler a = new RatioSampler(0.3);
        RatioSampler b = new RatioSampler(0.3);
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 1000; i++) {
            String id = randomTraceId(random);
            assertThat(a.sampled(id)).as(id).isEqualTo(b.sampled(id)).isEqualTo(a.sampled(id));
        }
    }

    @Test
    void theShareOfSampledRootsFollowsTheRatio() {
        RatioSampler sampler = new RatioSampler(0.25);
        SplittableRandom random = new SplittableRandom(42); // seeded: the count is the same on every run
        int sampled = 0;
        for (int i = 0; i < 20_000; i++) {
            if (sampler.sampled(randomTraceId(random))) {
                sampled++;
            }
        }
        assertThat(sampled).isBetween(4_700, 5_300);
    }

    @Test
    void aRatioOutsideZeroToOneIsRefused() {
        assertThatThrownBy(() -> new RatioSampler(1.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RatioSampler(-0.1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RatioSampler(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }
}
