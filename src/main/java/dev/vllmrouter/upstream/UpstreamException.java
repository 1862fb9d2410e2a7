package dev.vllmrouter.upstream;

import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;

/**
 * A failure talking to a worker, classified by what it means for the request: {@link Kind#CONNECT} (nothing reached
 * the worker: safe to try another), {@link Kind#TIMEOUT} (the worker went silent; it may still be generating) or
 * {@link Kind#SEND} (the connection broke while the request was written: the worker never had all of it) or
 * {@link Kind#IO} (the connection broke after the request was sent, or the answer was malformed). Helidon wraps I/O errors in {@code UncheckedIOException}; the cause chain is
 * inspected here once so the rest of the router matches on {@link #kind()}.
 */
public final class UpstreamException extends RuntimeException {
    public enum Kind { CONNECT, TIMEOUT, SEND, IO }

    private final Kind kind;

    public UpstreamException(Kind kind, String message, Throwable cause) {
        super(message, cause, false, false);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** Classifies any throwable raised by the HTTP client. */
    public static UpstreamException classify(String worker, Throwable t) {
        if (t instanceof UpstreamException u) {
            return u;
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ConnectException || c instanceof NoRouteToHostException
                    || c instanceof UnknownHostException) {
                return new UpstreamException(Kind.CONNECT, "cannot connect to " + worker + ": " + c.getMessage(), t);
            }
            if (c instanceof SocketTimeoutException || c instanceof InterruptedIOException) {
                return new UpstreamException(Kind.TIMEOUT, "worker " + worker + " timed out: " + c.getMessage(), t);
            }
        }
        return new UpstreamException(Kind.IO, "connection to " + worker + " failed: " + describe(t), t);
    }

    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return root.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
