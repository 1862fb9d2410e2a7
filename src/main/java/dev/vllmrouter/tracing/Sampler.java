package dev.vllmrouter.tracing;

/**
 * vllm-router's sampler, {@code ParentBased(TraceIdRatioBased(--otel-sampling-ratio))}: a request with a valid
 * incoming {@code traceparent} follows its sampled flag, so a trace is recorded everywhere or nowhere; a new root is
 * sampled when {@code (low 64 bits of the trace id >>> 1) < ratio * 2^63}.
 * <p>That is the arithmetic of opentelemetry-rust's {@code TraceIdRatioBased}, which the Rust router uses: the
 * decision is a pure function of the trace id, so services with the same ratio keep the same traces, and a test can
 * choose ids on either side of the bound. Ratio 1 samples every root and 0 none (no edge case at the bound).
 * Immutable and thread-safe.
 */
final class Sampler {
    private final double ratio;
    private final long bound;

    Sampler(double ratio) {
        if (!(ratio >= 0 && ratio <= 1)) {
            throw new IllegalArgumentException("sampling ratio must be within [0, 1], not " + ratio);
        }
        this.ratio = ratio;
        this.bound = (long) (ratio * 0x1p63); // the cast saturates at Long.MAX_VALUE for ratio 1
    }

    /**
     * @param parent  the incoming context, or {@code null} for a new root
     * @param traceId the 32-hex trace id of a new root (ignored when there is a parent)
     */
    boolean sample(TraceContext parent, String traceId) {
        if (parent != null) {
            return parent.sampled();
        }
        if (ratio >= 1) {
            return true;
        }
        return (Long.parseUnsignedLong(traceId, 16, 32, 16) >>> 1) < bound;
    }
}
