package dev.vllmrouter.upstream;

/**
 * Lets another thread abort a call that is blocked waiting for a worker (e.g. when the client hangs up during a
 * prefill, whose answer only comes when it is done). {@link #cancel()} closes the call's connection at once, or as soon
 * as the call has one; the blocked read then fails. Thread-safe: the two volatile fields are written in opposite
 * orders by {@link #cancel()} and {@link #bind}, so at least one side sees the other and the connection is closed.
 */
public final class Cancellation {
    private volatile boolean cancelled;
    private volatile Runnable closer;

    public void cancel() {
        cancelled = true;
        Runnable c = closer;
        if (c != null) {
            c.run();
        }
    }

    public boolean cancelled() {
        return cancelled;
    }

    /** Called by the client with the action that closes the call's connection. */
    void bind(Runnable close) {
        closer = close;
        if (cancelled) {
            close.run();
        }
    }
}
