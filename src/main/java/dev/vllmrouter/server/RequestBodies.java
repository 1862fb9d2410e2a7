package dev.vllmrouter.server;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.proxy.BufferBudget;

/**
 * Reads request bodies into memory within two limits: {@code --max-payload-size} for one body, and a shared
 * {@link BufferBudget} for all the bodies held at once (a quarter of the heap by default, apart from the quarter the
 * answers may hold). A body is held from its read until its request is over, since retries send it again.
 * <p>Algorithm: a body with a {@code Content-Length} reserves its whole length before the first byte is read, then is
 * read into one array of exactly that size; a chunked body reserves each growth of its buffer before growing it. A
 * body that could never fit (larger than the budget's capacity) gets 413; one that does not fit now gets 503 with
 * {@code Retry-After: 1} at once, without waiting: while the router holds its limit of bodies, more waiting
 * connections would not help, and OpenAI clients retry a 503. Streaming a too-large body through instead is not done:
 * a retry needs the body, and vLLM's largest uploads (audio files, 25 MB by default) fit easily.
 * <p>Invariant: the bytes reserved for a request are at least the size of the buffer it holds; {@link Endpoint}
 * releases them once, when the request is over (also after a refusal or a failed read). So the request bodies in
 * memory never exceed the budget, however many clients send large bodies at once. Stateless; the budget is
 * thread-safe.
 */
final class RequestBodies {
    /** The process-wide budget of request bodies: a quarter of the maximum heap. */
    static final BufferBudget SHARED = new BufferBudget(Runtime.getRuntime().maxMemory() / 4);
    private static final int FIRST_CHUNK = 8192;

    private final BufferBudget budget;
    private final long maxPayload;

    RequestBodies(BufferBudget budget, long maxPayload) {
        this.budget = budget;
        this.maxPayload = maxPayload;
    }

    BufferBudget budget() {
        return budget;
    }

    /**
     * Reads {@code in} to its end.
     *
     * @param declared the {@code Content-Length}, or -1 for a chunked body
     * @param reserved receives the bytes reserved so far, so the caller releases them also when this throws
     * @throws RouterException 413 over {@code --max-payload-size} or the budget's capacity, 503 when the budget is
     *                         full now, 400 when the body ends before its {@code Content-Length}
     * @throws IOException     when reading fails (the caller tells a timeout from a client that left)
     */
    byte[] read(InputStream in, long declared, long[] reserved) throws IOException {
        if (declared > maxPayload) {
            throw tooLarge();
        }
        if (declared >= 0) {
            reserve(declared, reserved);
            byte[] body = new byte[(int) declared];
            int len = 0;
            while (len < body.length) {
                int n = in.read(body, len, body.length - len);
                if (n < 0) {
                    throw new RouterException(ErrorKind.BAD_REQUEST, "Request body ended before its Content-Length");
                }
                len += n;
            }
            return body;
        }
        long limit = Math.min(maxPayload, Integer.MAX_VALUE - 16);
        reserve(FIRST_CHUNK, reserved);
        byte[] buf = new byte[FIRST_CHUNK];
        int len = 0;
        while (true) {
            if (len == buf.length) {
                if (len > limit) {
                    throw tooLarge();
                }
                int grown = (int) Math.min((long) buf.length * 2, limit + 1);
                reserve(grown - buf.length, reserved);
                buf = Arrays.copyOf(buf, grown);
            }
            int n = in.read(buf, len, buf.length - len);
            if (n < 0) {
                return len == buf.length ? buf : Arrays.copyOf(buf, len);
            }
            len += n;
            if (len > limit) {
                throw tooLarge();
            }
        }
    }

    private void reserve(long bytes, long[] reserved) {
        if (reserved[0] + bytes > budget.capacity()) {
            throw new RouterException(ErrorKind.PAYLOAD_TOO_LARGE, "Request body is larger than the "
                    + budget.capacity() + " bytes this router may hold in memory for request bodies (a quarter of "
                    + "its heap; raise the heap or send a smaller body)");
        }
        if (!budget.tryReserve(bytes)) {
            throw new RouterException(OpenAiError.of(ErrorKind.SERVICE_UNAVAILABLE, "The router holds as many "
                    + "request bodies in memory as it may (" + budget.capacity() + " bytes); retry shortly"), null, 1);
        }
        reserved[0] += bytes;
    }

    private RouterException tooLarge() {
        return new RouterException(ErrorKind.PAYLOAD_TOO_LARGE,
                "Request body is larger than the limit of " + maxPayload + " bytes (--max-payload-size)");
    }
}
