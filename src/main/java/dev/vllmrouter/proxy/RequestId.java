package dev.vllmrouter.proxy;

/**
 * A request's id: {@link #value()} is returned to the client as {@code x-request-id} and used in logs;
 * {@link #forWorker()} is what goes to the worker as {@code X-Request-Id}. vLLM prefixes the header with its own
 * {@code chatcmpl-}/{@code cmpl-}/... when it builds the response id, so an id the router generated is sent without
 * its prefix: the client then sees the same id in {@code x-request-id} and in the body's {@code id}. A client's own
 * id is sent as given.
 */
public record RequestId(String value, int prefixLength) {
    public static RequestId of(String clientValue) {
        return new RequestId(clientValue, 0);
    }

    public String forWorker() {
        return prefixLength == 0 ? value : value.substring(prefixLength);
    }

    @Override
    public String toString() {
        return value;
    }
}
