package dev.vllmrouter.server;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Semaphore;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.Bytes;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.task.InterruptableTask;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

/**
 * Selects Helidon's HTTP/1 handling for client connections, over a {@link ClientConnection} (the router's reader and
 * timed writer). Registered as the listener's first connection selector, so every HTTP/1 connection — plain, or TLS
 * with ALPN {@code http/1.1} — is one.
 * <p>It also takes HTTP/1.0 requests, which Helidon's own selector refuses by closing the connection without a word:
 * Helidon's request-line parser then refuses them with 505, answered by {@link OpenAiDirectHandler} with a body,
 * and the connection is closed. Any other first line is left to Helidon (which closes the connection).
 */
final class ClientProtocol implements ServerConnectionSelector {
    private static final String HTTP_1_1 = " HTTP/1.1\r";
    private static final String HTTP_1_0 = " HTTP/1.0\r";

    private final Http1ConnectionSelector http1;
    private final int maxPrologueLength;
    private final ClientConnections connections;

    ClientProtocol(Http1Config config, ClientConnections connections) {
        this.http1 = Http1ConnectionSelector.builder().config(config).build();
        this.maxPrologueLength = config.maxPrologueLength();
        this.connections = connections;
    }

    @Override
    public int bytesToIdentifyConnection() {
        return 0;
    }

    @Override
    public Support supports(BufferData request) {
        int lf = request.indexOf(Bytes.LF_BYTE);
        if (lf == -1) {
            // as Helidon's own selector: a first line not complete yet is HTTP/1 (it answers 414 when too long)
            return request.available() <= maxPrologueLength ? Support.SUPPORTED : Support.UNSUPPORTED;
        }
        String line = request.readString(lf);
        return line.endsWith(HTTP_1_1) || line.endsWith(HTTP_1_0) ? Support.SUPPORTED : Support.UNSUPPORTED;
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return Set.of("http/1.1");
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        ClientConnection client = connections.connect(ctx);
        return new Tracked(http1.connection(client), client, connections);
    }

    /** Helidon's HTTP/1 connection, known to {@link ClientConnections} (its write limit) while it is handled. */
    private record Tracked(ServerConnection delegate, ClientConnection client, ClientConnections connections)
            implements ServerConnection, InterruptableTask<Void> {
        @Override
        public void handle(Limit limit) throws InterruptedException {
            connections.opened(client);
            try {
                delegate.handle(limit);
            } finally {
                connections.closed(client);
            }
        }

        @SuppressWarnings("removal")
        @Override
        public void handle(Semaphore requestSemaphore) throws InterruptedException {
            connections.opened(client);
            try {
                delegate.handle(requestSemaphore);
            } finally {
                connections.closed(client);
            }
        }

        @Override
        public Duration idleTime() {
            return delegate.idleTime();
        }

        @Override
        public void close(boolean interrupt) {
            delegate.close(interrupt);
        }

        @Override
        public boolean canInterrupt() {
            return delegate instanceof InterruptableTask<?> task && task.canInterrupt();
        }
    }
}
