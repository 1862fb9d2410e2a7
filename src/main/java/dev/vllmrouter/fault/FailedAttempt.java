package dev.vllmrouter.fault;

import java.util.Objects;

/**
 * The facts about one failed upstream attempt that {@link RetryDecision} needs: what went wrong (a response head with
 * {@code status}, or a {@link Transport} failure before any head), how many body bytes already went to the client,
 * which attempt it was, and whether a worker the request has not tried yet is left.
 *
 * @param status            status of the worker's response head, or 0 when none arrived
 * @param transport         {@link Transport#NONE} when a head arrived, else the failure before one
 * @param bytesSentToClient response body bytes already relayed to the client for this request (any attempt)
 * @param attempt           1-based number of the attempt that failed (1 = the first call)
 * @param untriedWorkerLeft whether the picker still has a worker this request has not tried
 */
public record FailedAttempt(int status, Transport transport, long bytesSentToClient, int attempt,
        boolean untriedWorkerLeft) {

    /** How an attempt failed before a response head arrived. */
    public enum Transport {
        /** A response head arrived; see {@code status}. */
        NONE,
        /** No connection (refused, DNS, connect timeout): nothing reached the worker. */
        CONNECT,
        /** The connection failed while the request was being written: the worker never had the whole request. */
        SEND,
        /** The connection was closed or reset after the request was sent, before the head. vLLM aborts a request
         *  whose connection is gone, so nothing is left generating. */
        LOST,
        /** No head within the read timeout. The request was sent and the worker may still be generating. */
        READ_TIMEOUT
    }

    public FailedAttempt {
        Objects.requireNonNull(transport, "transport");
        if (transport == Transport.NONE ? status < 100 || status > 599 : status != 0) {
            throw new IllegalArgumentException("status " + status + " with transport " + transport
                    + " (expected: a status 100..599 with NONE, or 0 with a transport failure)");
        }
        if (bytesSentToClient < 0) {
            throw new IllegalArgumentException("bytesSentToClient: " + bytesSentToClient + " (expected: >= 0)");
        }
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 1)");
        }
    }

    /** Attempt {@code attempt} got a response head with {@code status}; nothing sent to the client, workers left. */
    public static FailedAttempt status(int status, int attempt) {
        return new FailedAttempt(status, Transport.NONE, 0, attempt, true);
    }

    /** Attempt {@code attempt} failed with {@code kind} before a head; nothing sent to the client, workers left. */
    public static FailedAttempt transport(Transport kind, int attempt) {
        return new FailedAttempt(0, kind, 0, attempt, true);
    }

    public FailedAttempt withBytesSentToClient(long bytes) {
        return new FailedAttempt(status, transport, bytes, attempt, untriedWorkerLeft);
    }

    public FailedAttempt withUntriedWorkerLeft(boolean left) {
        return new FailedAttempt(status, transport, bytesSentToClient, attempt, left);
    }
}
