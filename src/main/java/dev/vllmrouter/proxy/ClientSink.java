package dev.vllmrouter.proxy;

import java.io.OutputStream;

import dev.vllmrouter.tracing.UpstreamSpan;
import dev.vllmrouter.worker.Worker;

/**
 * The client side of one exchange, as the proxy sees it (implemented by the server package over Helidon's response).
 * Status and headers may be set until {@link #send} or {@link #stream} commits the response.
 */
public interface ClientSink {
    void status(int status);

    /** Adds a response header (several values of one name are allowed). */
    void header(String name, String value);

    /** Sends {@code body} as the whole response (with Content-Length). */
    void send(byte[] body);

    /**
     * Commits status and headers and returns the body stream; every {@code flush()} pushes what was written to the
     * client at once. Writing throws an unchecked I/O exception when the client has gone.
     */
    OutputStream stream();

    /**
     * Ends the client's connection at once, without a proper end of the answer (no terminating chunk, fewer bytes
     * than its Content-Length), so that a body the worker cut short cannot pass for a complete one. Never returns:
     * throws an unchecked exception that the server turns into closing the connection.
     */
    default void abort() {
        throw new AnswerAborted();
    }

    /** Thrown by {@link #abort()}: the answer was cut and its connection must close without a proper end. */
    final class AnswerAborted extends RuntimeException {
        public AnswerAborted() {
            super("answer cut short: the client connection is closed without a proper end", null, false, false);
        }
    }

    /** Whether status and headers have gone out (after which only the body can still change). */
    boolean committed();

    /**
     * Runs {@code action} (once, on another thread) if the client closes its connection while nothing is being
     * written to it — e.g. while a prefill runs — until the returned handle is closed. Best effort: an implementation
     * that cannot watch returns a handle that does nothing.
     */
    default AutoCloseable onHangUp(Runnable action) {
        return () -> { };
    }

    /**
     * The request's total deadline ({@code Ticker} time, {@code --request-timeout-secs}): a write to the client still
     * blocked then (a client that stopped reading) is cut, whatever else bounds it.
     */
    default void deadline(long deadline) {
    }

    /** The client left before its answer and the call was abandoned: nothing will be sent (recorded as 499). */
    default void clientGone() {
    }

    /**
     * An attempt of this request goes to {@code worker} (for the request log and tracing).
     *
     * @param phase {@code inference}, or {@code prefill}/{@code decode} under disaggregation
     * @return the attempt's trace span: its {@code traceparent} goes to the worker; end it when the attempt is over
     */
    default UpstreamSpan attempt(Worker worker, int attempt, String phase) {
        return UpstreamSpan.NOOP;
    }

    /** The first events of a streamed answer have just been flushed to the client (for the request log). */
    default void firstToken() {
    }
}
