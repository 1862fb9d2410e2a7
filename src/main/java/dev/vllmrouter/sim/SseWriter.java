package dev.vllmrouter.sim;

import io.helidon.webserver.CloseConnectionException;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes one server-sent-event stream with vLLM's framing: each event is exactly {@code data: <json>\n\n},
 * flushed on its own (Helidon's response stream is buffered), ended by {@code data: [DONE]\n\n}. Status 200 and
 * {@code Content-Type: text/event-stream; charset=utf-8} go out with the first event.
 *
 * <p>Two ways a stream ends early:
 * <ul>
 *   <li><b>client disconnect</b>: a write or flush fails; the stream stops at once, the disconnect is counted
 *       in {@link RequestLog#disconnects()} (waking awaiters) and the exchange is aborted;</li>
 *   <li><b>{@code dieMidStream(k)}</b>: after k events (never {@code [DONE]}) the handler throws Helidon's
 *       {@link CloseConnectionException}, which makes Helidon close the socket without writing anything more:
 *       the client gets the k events, then end-of-stream in the middle of the chunked body (no terminating
 *       {@code 0\r\n\r\n} chunk). Java's HttpClient reports {@code IOException: closed} (line/stream body
 *       handlers) or {@code IOException: chunked transfer encoding, state: READING_LENGTH} (string handler);
 *       with k = 0 no response head is sent at all
 *       ({@code IOException: HTTP/1.1 header parser received no bytes}).</li>
 * </ul>
 *
 * <p>Not thread-safe; one instance per response. Reuses one buffer for all events.
 */
final class SseWriter {
    private static final byte[] DATA = ByteSink.bytes("data: ");
    private static final byte[] END = ByteSink.bytes("\n\n");
    private static final byte[] DONE = ByteSink.bytes("data: [DONE]\n\n");

    private final Call call;
    private final ByteSink sink = new ByteSink(512);
    private OutputStream out;
    private int sent;

    SseWriter(Call call) {
        this.call = call;
    }

    /** Starts the next event; append its JSON to the returned sink, then call {@link #send()}. */
    ByteSink begin() {
        return sink.clear().append(DATA);
    }

    void send() {
        sink.append(END);
        dieIfDue();
        write(sink);
        sent++;
    }

    /**
     * Sends {@code [DONE]}, settling the exchange first ({@link Call#onSettled}). Helidon writes the terminating chunk when it commits the response after the handler
     * returns (a failure there is the client leaving after [DONE]; Helidon closes the connection quietly).
     */
    void done() {
        dieIfDue();
        call.settle(true);
        write(sink.clear().append(DONE));
    }

    int sent() {
        return sent;
    }

    private void dieIfDue() {
        int die = call.dieAfterEvents;
        if (die >= 0 && sent >= die) {
            throw new CloseConnectionException("sim-worker fault: connection cut after " + sent + " SSE events");
        }
    }

    private void write(ByteSink event) {
        try {
            if (out == null) {
                call.res.header(Replies.SSE_CONTENT_TYPE);
                out = call.res.outputStream();
            }
            event.writeTo(out);
            out.flush();
        } catch (IOException | RuntimeException e) {
            call.ctx.log.disconnected();
            call.ctx.stats.finishedAbort.increment();
            throw new CloseConnectionException("client disconnected mid-stream", e);
        }
    }
}
