package dev.vllmrouter.sim;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one simulated worker: in-flight inference requests (what {@code /load} reports and
 * {@link SimWorker#inFlight()} returns), completed ones, and the token/success totals exported on
 * {@code /metrics} under vLLM's names.
 *
 * <p>Thread-safe: atomics and {@link LongAdder}s (cheap under contention at benchmark rates).
 */
final class SimStats {
    final AtomicInteger inFlight = new AtomicInteger();
    final LongAdder served = new LongAdder();
    final LongAdder promptTokens = new LongAdder();
    final LongAdder generationTokens = new LongAdder();
    final LongAdder finishedStop = new LongAdder();
    final LongAdder finishedLength = new LongAdder();
    final LongAdder finishedAbort = new LongAdder();

    void finished(boolean length) {
        (length ? finishedLength : finishedStop).increment();
    }
}
