package dev.vllmrouter.tracing;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import dev.vllmrouter.common.Ticker;

/**
 * Decouples ended spans from their export: request threads put spans in a bounded queue (default
 * {@value #DEFAULT_CAPACITY}), one daemon thread takes them out and exports a batch when it has
 * {@value #DEFAULT_MAX_BATCH} or when {@link #DEFAULT_INTERVAL} has passed since the last export (a span arriving
 * after an idle interval goes at once).
 * <p>Invariant: {@link #accept} never blocks and never throws. A full queue (collector slow or down) drops the span
 * and counts it ({@link #dropped()}); a failed export drops its batch, is counted ({@link #failedBatches()}) and is
 * logged at most once per {@link #LOG_EVERY}. Tracing is best effort; it must never slow or fail a request.
 * <p>{@link #close(Duration)} stops taking spans, exports what is queued and waits for that at most the given time;
 * after it the export thread is gone (interrupted if it overran). Timing comes from the injected {@link Ticker}
 * (the wait for spans itself is a timed {@code poll}, so a fake ticker that never moves simply means "no timed
 * flush"). Thread-safe.
 */
final class BatchSpanProcessor implements Consumer<SpanData>, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(BatchSpanProcessor.class.getName());
    static final int DEFAULT_CAPACITY = 2048;
    static final int DEFAULT_MAX_BATCH = 512;
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
    static final Duration LOG_EVERY = Duration.ofMinutes(1);
    /** Put in the queue by {@link #close} to wake the export thread; never exported. */
    private static final SpanData WAKE_UP = new SpanData("", "", null, null, "", SpanData.Kind.SERVER, 0, 0,
            Map.of(), List.of(), SpanData.Status.UNSET, null);

    private final SpanExporter exporter;
    private final BlockingQueue<SpanData> queue;
    private final int maxBatch;
    private final long intervalNanos;
    private final Ticker ticker;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong failedBatches = new AtomicLong();
    private final AtomicLong exported = new AtomicLong();
    private final CountDownLatch finished = new CountDownLatch(1);
    private final long firstFlushNanos;
    private final Thread thread;
    private volatile boolean closed;
    // owned by the export thread
    private long lastLogNanos;
    private boolean loggedOnce;
    private long droppedAtLastLog;

    BatchSpanProcessor(SpanExporter exporter, int capacity, int maxBatch, Duration interval, Ticker ticker) {
        this.exporter = exporter;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.maxBatch = maxBatch;
        this.intervalNanos = interval.toNanos();
        this.ticker = ticker;
        this.firstFlushNanos = ticker.nanos() + intervalNanos; // here, not in run(): the thread may start late
        this.thread = Thread.ofPlatform().daemon().name("otlp-span-exporter").start(this::run);
    }

    /** Queues an ended span, or drops it when the queue is full or the processor closed. */
    @Override
    public void accept(SpanData span) {
        if (closed || !queue.offer(span)) {
            dropped.incrementAndGet();
        }
    }

    long dropped() {
        return dropped.get();
    }

    long failedBatches() {
        return failedBatches.get();
    }

    long exported() {
        return exported.get();
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    /** @return whether everything queued was handed to the exporter within {@code timeout} */
    boolean close(Duration timeout) {
        closed = true;
        queue.offer(WAKE_UP); // when the queue is full the thread is not waiting anyway
        try {
            if (finished.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                return true;
            }
            LOG.log(Level.WARNING, "tracing: spans not exported within {0} at shutdown; giving up", timeout);
            thread.interrupt();
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.interrupt();
            return false;
        } finally {
            exporter.close();
        }
    }

    private void run() {
        List<SpanData> batch = new ArrayList<>(maxBatch);
        long nextFlush = firstFlushNanos;
        try {
            while (!closed) {
                long wait = nextFlush - ticker.nanos();
                // the interval is over but nothing is waiting: block for the next span, which then goes at once
                long timeout = wait > 0 ? wait : batch.isEmpty() ? intervalNanos : 0;
                SpanData first = timeout > 0 ? queue.poll(timeout, TimeUnit.NANOSECONDS) : null;
                if (first != null) {
                    batch.add(first);
                }
                queue.drainTo(batch, maxBatch - batch.size());
                batch.removeIf(span -> span == WAKE_UP); // one per close() call
                // an empty batch never restarts the interval: a span taken just after the check is not held back
                if (batch.size() >= maxBatch || !batch.isEmpty() && ticker.nanos() - nextFlush >= 0) {
                    export(batch);
                    nextFlush = ticker.nanos() + intervalNanos;
                }
            }
            do { // closing: export the rest
                queue.drainTo(batch, maxBatch - batch.size());
                batch.removeIf(span -> span == WAKE_UP); // one per close() call
                export(batch);
            } while (!queue.isEmpty());
        } catch (InterruptedException e) {
            // close() gave up waiting: abandon what is left
        } finally {
            finished.countDown();
        }
    }

    private void export(List<SpanData> batch) throws InterruptedException {
        if (batch.isEmpty()) {
            return;
        }
        Exception failure = null;
        try {
            exporter.export(batch);
            exported.addAndGet(batch.size());
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            failedBatches.incrementAndGet();
            failure = e;
        }
        batch.clear();
        report(failure);
    }

    /** Logs a failed export or spans dropped since the last report, at most once per {@link #LOG_EVERY}. */
    private void report(Exception failure) {
        long droppedSince = dropped.get() - droppedAtLastLog;
        long now = ticker.nanos();
        if (failure == null && droppedSince == 0 || loggedOnce && now - lastLogNanos < LOG_EVERY.toNanos()) {
            return;
        }
        loggedOnce = true;
        lastLogNanos = now;
        droppedAtLastLog += droppedSince;
        if (failure != null) {
            LOG.log(Level.WARNING, "tracing: span export failed ({0} batches lost so far; {1} spans dropped on a full"
                    + " queue since the last report): {2}", failedBatches.get(), droppedSince, failure.toString());
        } else {
            LOG.log(Level.WARNING, "tracing: {0} spans dropped on a full queue since the last report: the collector"
                    + " does not keep up", droppedSince);
        }
    }
}
