package dev.vllmrouter.upstream;

import java.io.InputStream;

import io.helidon.http.Headers;
import io.helidon.webclient.api.HttpClientResponse;

/**
 * A worker's response: status and headers are read; the body is an {@link InputStream} that returns bytes as they
 * arrive (chunked decoding done, nothing buffered beyond one read). {@link #close()} releases the connection to the
 * pool when the body was read to its end and closes it otherwise, which is how an abandoned generation is aborted on
 * the worker. Safe to close from another thread (used by the total-timeout watchdog).
 */
public final class UpstreamResponse implements AutoCloseable {
    private final HttpClientResponse response;

    UpstreamResponse(HttpClientResponse response) {
        this.response = response;
    }

    public int status() {
        return response.status().code();
    }

    public Headers headers() {
        return response.headers();
    }

    public InputStream body() {
        return response.inputStream();
    }

    @Override
    public void close() {
        response.close();
    }
}
