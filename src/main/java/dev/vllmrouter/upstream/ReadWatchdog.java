package dev.vllmrouter.upstream;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

import dev.vllmrouter.common.Ticker;

/**
 * Read timeouts of worker connections without a timer per read.
 * <p>A socket read with {@code SO_TIMEOUT} on a virtual thread is a timed park: every read schedules a wake-up on
 * the virtual-thread scheduler's delay queue and cancels it when data arrives, which at proxy rates costs a thread
 * and a context switch per read (measured: several percent of the router's CPU, see docs/benchmarks.md). Instead,
 * worker sockets read without a timeout, each {@link Connection} publishes the deadline of the read it is blocked in,
 * and this one daemon thread looks at all of them every {@link #DEFAULT_TICK}, closing a connection whose read is
 * past its deadline; the blocked read then fails and reports a {@link java.net.SocketTimeoutException}. The total
 * time of a stream ({@link UpstreamResponse#deadline}) is kept the same way: a deadline on its connection, no timer.
 * <p>Invariant: a read blocked longer than its timeout fails within one tick after the timeout; a read that returns
 * in time is never failed by this watchdog (the deadline is checked again just before closing, and a read clears it
 * when it returns). The sweep visits only connections that are open; an idle one costs a volatile read per tick.
 * Thread-safe.
 */
final class ReadWatchdog {
    static final Duration DEFAULT_TICK = Duration.ofMillis(100);
    /** Housekeeping (idle connection eviction) runs about once a second. */
    private static final Duration HOUSEKEEPING_EVERY = Duration.ofSeconds(1);
    /** The watchdog of every {@link UpstreamClient} of this JVM: one thread, started on first use. */
    static final ReadWatchdog SHARED = new ReadWatchdog(Ticker.system(), DEFAULT_TICK, true);

    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final Set<Runnable> housekeeping = ConcurrentHashMap.newKeySet();
    private final Ticker ticker;
    private final long tickNanos;

    /** @param start whether to run the sweeping thread (tests call {@link #sweep()} themselves) */
    ReadWatchdog(Ticker ticker, Duration tick, boolean start) {
        this.ticker = ticker;
        this.tickNanos = tick.toNanos();
        if (start) {
            Thread.ofPlatform().daemon().name("vllm-router-read-watchdog").start(this::run);
        }
    }

    Ticker ticker() {
        return ticker;
    }

    void watch(Connection c) {
        open.add(c);
    }

    void forget(Connection c) {
        open.remove(c);
    }

    /** Runs {@code task} about once a second on the watchdog's thread until {@link #stopHousekeeping}. */
    void housekeeping(Runnable task) {
        housekeeping.add(task);
    }

    void stopHousekeeping(Runnable task) {
        housekeeping.remove(task);
    }

    /** Connections being watched (for tests). */
    int watched() {
        return open.size();
    }

    /** One look at every connection: closes those whose read is past its deadline. */
    void sweep() {
        long now = ticker.nanos();
        for (Connection c : open) {
            c.expireIfOverdue(now);
        }
    }

    private void run() {
        long every = Math.max(1, HOUSEKEEPING_EVERY.toNanos() / tickNanos);
        for (long tick = 1; ; tick++) {
            LockSupport.parkNanos(tickNanos);
            try {
                sweep();
                if (tick % every == 0) {
                    housekeeping.forEach(Runnable::run);
                }
            } catch (Throwable e) { // never let the only watchdog die: every timeout depends on it
                System.getLogger(ReadWatchdog.class.getName()).log(System.Logger.Level.WARNING,
                        "read watchdog: " + e);
            }
        }
    }
}
