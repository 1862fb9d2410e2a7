package dev.vllmrouter.tracing;

import java.util.List;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingResult;

/**
 * vllm-router's {@code TraceIdRatioBased(ratio)}: a trace is sampled when
 * {@code (low 64 bits of its trace id >>> 1) < ratio * 2^63}, the arithmetic of opentelemetry-rust, which the Rust
 * router uses. The decision is a pure function of the trace id, so two routers with the same ratio keep the same
 * traces, and a test can choose ids on either side of the bound. Ratio 1 samples every trace and 0 none. (The Java
 * SDK's own {@code traceIdRatioBased} compares {@code |low 64 bits|} instead, which picks other traces.)
 * <p>Wrapped in {@link Sampler#parentBased} by the tracer, so it decides only for new roots. Immutable and
 * thread-safe.
 */
final class RatioSampler implements Sampler {
    private final double ratio;
    private final long bound;

    RatioSampler(double ratio) {
        if (!(ratio >= 0 && ratio <= 1)) {
            throw new IllegalArgumentException("sampling ratio must be within [0, 1], not " + ratio);
        }
        this.ratio = ratio;
        this.bound = (long) (ratio * 0x1p63); // the cast saturates at Long.MAX_VALUE for ratio 1
    }

    /** The sampler of {@code sampling}: this ratio sampler, parent-based when asked. */
    static Sampler of(TracingConfig.Sampling sampling) {
        RatioSampler root = new RatioSampler(sampling.ratio());
        return sampling.parentBased() ? Sampler.parentBased(root) : root;
    }

    /** @param traceId 32 lower-case hex digits */
    boolean sampled(String traceId) {
        if (ratio >= 1) {
            return true;
        }
        return (Long.parseUnsignedLong(traceId, 16, 32, 16) >>> 1) < bound;
    }

    @Override
    public SamplingResult shouldSample(Context parentContext, String traceId, String name, SpanKind spanKind,
                                       Attributes attributes, List<LinkData> parentLinks) {
        return sampled(traceId) ? SamplingResult.recordAndSample() : SamplingResult.drop();
    }

    @Override
    public String getDescription() {
        return "VllmRouterTraceIdRatio{" + ratio + "}";
    }

    @Override
    public String toString() {
        return getDescription();
    }
}
