package dev.vllmrouter.tracing;

import java.io.IOException;
import java.util.List;

/** Sends a batch of ended spans somewhere; called by one thread at a time (the {@link BatchSpanProcessor}'s). */
interface SpanExporter extends AutoCloseable {
    /** Sends the batch, or throws; the caller drops a batch that failed (no retry: spans are best effort). */
    void export(List<SpanData> spans) throws IOException, InterruptedException;

    @Override
    default void close() {
    }
}
