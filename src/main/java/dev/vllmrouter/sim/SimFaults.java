package dev.vllmrouter.sim;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Runtime fault injection for a {@link SimWorker}; every knob can be changed while the worker serves.
 *
 * <p>Faults apply to inference requests (chat, completions, responses, embeddings, rerank, transcriptions)
 * that passed validation, in this order:
 * <ol>
 *   <li>{@link #failNext(int, int)}: the next n requests get that status with vLLM's error envelope;</li>
 *   <li>{@link #status(int)}: every request gets that status (failNext wins while it has budget);</li>
 *   <li>the request takes a scheduler slot ({@code maxNumSeqs}), then {@link #hang(boolean)} holds it there
 *       without answering (like a stuck engine: it counts as running, and queued requests wait behind it)
 *       until hang is turned off, the client disconnects or the worker closes;</li>
 *   <li>{@link #dieMidStream(int)}: a stream is cut after that many events; a non-streaming request's
 *       connection is closed without any response;</li>
 *   <li>{@link #latency(Duration, Duration)} replaces the configured ttft / inter-token latency.</li>
 * </ol>
 * {@link #healthy(boolean)} only affects {@code /health} and {@code /ping}. {@link #reset()} clears everything.
 *
 * <p>Thread-safety: plain knobs are volatile fields; the failNext budget is one immutable value swapped by CAS;
 * hang waiters block on a {@link ReentrantLock} condition that every change signals (no polling, no CPU burn).
 * Mutators return {@code this} for chaining.
 */
public final class SimFaults {
    private record Budget(int remaining, int status) {
    }

    private record Latency(Duration ttft, Duration itl) {
    }

    private final AtomicReference<Budget> failNext = new AtomicReference<>();
    private volatile int status;
    private volatile boolean hang;
    private volatile int dieAfterEvents = -1;
    private volatile Latency latency;
    private volatile boolean healthy = true;
    private volatile String retryAfter;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();

    SimFaults() {
    }

    /** The next {@code n} inference requests answer {@code status} (400..599) with an error envelope. */
    public SimFaults failNext(int n, int status) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, got " + n);
        }
        failNext.set(n == 0 ? null : new Budget(n, checkStatus(status)));
        return this;
    }

    /** Every inference request answers {@code status} (400..599); 0 restores normal answers. */
    public SimFaults status(int status) {
        this.status = status == 0 ? 0 : checkStatus(status);
        return this;
    }

    public SimFaults clearStatus() {
        return status(0);
    }

    /**
     * While on, admitted inference requests are held without any answer. Turning it off releases them (they are
     * then answered normally, with {@code Connection: close}, because a watcher was reading their connection to
     * notice a client disconnect). A client that disconnects ends its hung request (counted in
     * {@link RequestLog#disconnects()}); closing the worker ends them all without a response.
     */
    public SimFaults hang(boolean hang) {
        this.hang = hang;
        wakeAll();
        return this;
    }

    /** Cut streams after {@code afterEvents} SSE events (never sending {@code [DONE]}); -1 turns it off. */
    public SimFaults dieMidStream(int afterEvents) {
        if (afterEvents < -1) {
            throw new IllegalArgumentException("afterEvents must be >= 0, or -1 for off; got " + afterEvents);
        }
        this.dieAfterEvents = afterEvents;
        return this;
    }

    /** Overrides the configured time to first token and inter-token latency. */
    public SimFaults latency(Duration ttft, Duration interTokenLatency) {
        Objects.requireNonNull(ttft, "ttft");
        Objects.requireNonNull(interTokenLatency, "interTokenLatency");
        if (ttft.isNegative() || interTokenLatency.isNegative()) {
            throw new IllegalArgumentException("latencies must not be negative");
        }
        this.latency = new Latency(ttft, interTokenLatency);
        return this;
    }

    /** Goes back to the configured latencies. */
    public SimFaults clearLatency() {
        this.latency = null;
        return this;
    }

    /** Injected failures ({@link #failNext}, {@link #status}) carry {@code Retry-After: value}; {@code null}: none. */
    public SimFaults retryAfter(String value) {
        this.retryAfter = value;
        return this;
    }

    public String retryAfter() {
        return retryAfter;
    }

    /** {@code /health} and {@code /ping} answer 200 when healthy, 503 otherwise. */
    public SimFaults healthy(boolean healthy) {
        this.healthy = healthy;
        return this;
    }

    /** Clears every fault: no failures, no status override, no hang, no death, configured latency, healthy. */
    public SimFaults reset() {
        failNext.set(null);
        status = 0;
        dieAfterEvents = -1;
        latency = null;
        healthy = true;
        retryAfter = null;
        hang(false);
        return this;
    }

    public int remainingFailures() {
        Budget b = failNext.get();
        return b == null ? 0 : b.remaining();
    }

    public int status() {
        return status;
    }

    public boolean hanging() {
        return hang;
    }

    public int dieAfterEvents() {
        return dieAfterEvents;
    }

    public boolean isHealthy() {
        return healthy;
    }

    /** The status the next inference request must fail with (consuming failNext budget), or 0 for none. */
    int takeFailure() {
        while (true) {
            Budget b = failNext.get();
            if (b == null) {
                return status;
            }
            Budget next = b.remaining() <= 1 ? null : new Budget(b.remaining() - 1, b.status());
            if (failNext.compareAndSet(b, next)) {
                return b.status();
            }
        }
    }

    Duration ttft(Duration configured) {
        Latency l = latency;
        return l == null ? configured : l.ttft();
    }

    Duration interTokenLatency(Duration configured) {
        Latency l = latency;
        return l == null ? configured : l.itl();
    }

    /**
     * Blocks while hang is on. Returns true when hang was lifted, false when {@code abort} became true
     * (checked at start and after every {@link #wakeAll()}) or the thread was interrupted.
     */
    boolean awaitHangLifted(BooleanSupplier abort) {
        if (!hang) {
            return true;
        }
        lock.lock();
        try {
            while (hang) {
                if (abort.getAsBoolean()) {
                    return false;
                }
                changed.await();
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Wakes hang waiters so that they re-check hang and their abort condition. */
    void wakeAll() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private static int checkStatus(int status) {
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("status must be an HTTP error status 400..599, got " + status);
        }
        return status;
    }

    @Override
    public String toString() {
        return "SimFaults[failNext=" + remainingFailures() + ", status=" + status + ", hang=" + hang
                + ", dieAfterEvents=" + dieAfterEvents + ", latency=" + latency + ", healthy=" + healthy + "]";
    }
}
