package dev.vllmrouter.tracing;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The export queue with fake exporters. The ticker never moves, so no timed flush happens: batches go out only when
 * full or at close, which makes their sizes exact.
 */
class BatchSpanProcessorTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Records each batch it is given. */
    private static final class RecordingExporter implements SpanExporter {
        final BlockingQueue<List<SpanData>> batches = new LinkedBlockingQueue<>();

        @Override
        public void export(List<SpanData> spans) {
            batches.add(List.copyOf(spans));
        }

        List<SpanData> next() throws InterruptedException {
            List<SpanData> batch = batches.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(batch).as("a batch within " + WAIT).isNotNull();
            return batch;
        }
    }

    private static BatchSpanProcessor processor(SpanExporter exporter, int capacity, int maxBatch) {
        return new BatchSpanProcessor(exporter, capacity, maxBatch, Duration.ofSeconds(1), () -> 0);
    }

    @Test
    void exportsFullBatchesAsTheyFillAndTheRestAtClose() throws Exception {
        RecordingExporter exporter = new RecordingExporter();
        BatchSpanProcessor processor = processor(exporter, 100, 3);
        for (int i = 1; i <= 7; i++) {
            processor.accept(Spans.server(i));
        }

        assertThat(exporter.next()).extracting(SpanData::spanId).containsExactly(id(1), id(2), id(3));
        assertThat(exporter.next()).extracting(SpanData::spanId).containsExactly(id(4), id(5), id(6));
        assertThat(exporter.batches).isEmpty(); // span 7 waits for more, or for the interval
        assertThat(processor.close(WAIT)).isTrue();
        assertThat(exporter.next()).extracting(SpanData::spanId).containsExactly(id(7));
        assertThat(processor.exported()).isEqualTo(7);
    }

    @Test
    void theIntervalFlushesAPartialBatch() throws Exception {
        RecordingExporter exporter = new RecordingExporter();
        AtomicLong ticker = new AtomicLong();
        BatchSpanProcessor processor = new BatchSpanProcessor(exporter, 100, 512, Duration.ofNanos(1_000),
                ticker::get);
        processor.accept(Spans.server(1));
        ticker.set(1_000); // the export thread sees the interval over at its next look, however late that is

        assertThat(exporter.next()).extracting(SpanData::spanId).containsExactly(id(1));
        processor.close(WAIT);
    }

    @Test
    void aSpanAfterAnIdleIntervalGoesAtOnce() throws Exception {
        RecordingExporter exporter = new RecordingExporter();
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        AtomicLong now = new AtomicLong();
        BatchSpanProcessor processor = new BatchSpanProcessor(exporter, 100, 512, Duration.ofNanos(1_000), () -> {
            reads.incrementAndGet();
            return now.get();
        });
        now.set(5_000); // the interval is over while nothing is queued ...
        int seen = reads.get();
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> reads.get() > seen + 4); // ... and seen idle

        processor.accept(Spans.server(1)); // the clock does not move: only "at once" can export it
        assertThat(exporter.next()).extracting(SpanData::spanId).containsExactly(id(1));
        processor.close(WAIT);
    }

    @Test
    void aFullQueueDropsAndCountsWithoutBlockingTheCaller() throws Exception {
        CountDownLatch exporting = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        RecordingExporter received = new RecordingExporter();
        SpanExporter stuck = spans -> {
            exporting.countDown();
            release.await(); // a collector that does not answer
            received.export(spans);
        };
        BatchSpanProcessor processor = processor(stuck, 4, 1);
        processor.accept(Spans.server(1));
        assertThat(exporting.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

        for (int i = 2; i <= 10; i++) {
            processor.accept(Spans.server(i)); // returns at once: 4 fit, 5 are dropped
        }

        assertThat(processor.dropped()).isEqualTo(5);
        release.countDown();
        assertThat(processor.close(WAIT)).isTrue();
        assertThat(processor.exported()).isEqualTo(5);
    }

    @Test
    void aFailedExportIsCountedAndTheNextBatchStillGoesOut() throws Exception {
        RecordingExporter exporter = new RecordingExporter();
        AtomicLong calls = new AtomicLong();
        BatchSpanProcessor processor = processor(spans -> {
            if (calls.incrementAndGet() == 1) {
                throw new IOException("collector down");
            }
            exporter.export(spans);
        }, 100, 1);
        processor.accept(Spans.server(1));
        await().atMost(WAIT).until(() -> processor.failedBatches() == 1);
        processor.accept(Spans.server(2));

        assertThat(exporter.next()).extracting(SpanData::spanId).containsExactly(id(2));
        assertThat(processor.close(WAIT)).isTrue();
        assertThat(processor.exported()).isEqualTo(1);
    }

    @Test
    void anExporterThatThrowsUncheckedDoesNotKillTheThread() throws Exception {
        RecordingExporter exporter = new RecordingExporter();
        AtomicLong calls = new AtomicLong();
        BatchSpanProcessor processor = processor(spans -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("bug");
            }
            exporter.export(spans);
        }, 100, 1);
        processor.accept(Spans.server(1));
        processor.accept(Spans.server(2));

        assertThat(exporter.next()).extracting(SpanData::spanId).containsExactly(id(2));
        processor.close(WAIT);
    }

    @Test
    void afterCloseSpansAreDroppedAndCloseAgainIsHarmless() {
        RecordingExporter exporter = new RecordingExporter();
        BatchSpanProcessor processor = processor(exporter, 100, 10);
        assertThat(processor.close(WAIT)).isTrue();

        processor.accept(Spans.server(1));

        assertThat(processor.dropped()).isEqualTo(1);
        assertThat(processor.close(WAIT)).isTrue();
        assertThat(exporter.batches).isEmpty();
    }

    @Test
    void closeGivesUpOnAnExportThatOverrunsItsTimeout() throws Exception {
        CountDownLatch exporting = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        BatchSpanProcessor processor = processor(spans -> {
            exporting.countDown();
            try {
                new CountDownLatch(1).await(); // never answers
            } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
            }
        }, 100, 1);
        processor.accept(Spans.server(1));
        assertThat(exporting.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

        assertThat(processor.close(Duration.ZERO)).isFalse();
        assertThat(interrupted.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the export thread was stopped").isTrue();
    }

    private static String id(int n) {
        return String.format("%016x", n);
    }
}
