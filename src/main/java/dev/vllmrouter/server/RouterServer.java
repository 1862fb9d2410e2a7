package dev.vllmrouter.server;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;

/**
 * The Helidon web server: the router's listener ({@code --host:--port}) with the probe, admin and OpenAI services —
 * in that order, the OpenAI service's fallback last — and a second listener for Prometheus
 * ({@code --prometheus-host:--prometheus-port}, path {@code /metrics}), so scraping never competes with traffic and
 * {@code /metrics} on the main port still reaches a worker as in vllm-router. The only class that builds Helidon's
 * server.
 */
public final class RouterServer {
    private static final String METRICS_SOCKET = "prometheus";

    private final WebServer server;

    public RouterServer(RouterContext ctx) {
        var config = ctx.config();
        var builder = WebServer.builder();
        if (config.tlsCertPath() != null) {
            // HTTPS on the main listener only; the Prometheus listener stays plain (scraped in-cluster)
            Keys keys = Keys.builder().pem(pem -> pem.key(Resource.create(config.tlsKeyPath()))
                    .certChain(Resource.create(config.tlsCertPath()))).build();
            builder.tls(tls -> tls.privateKey(keys.privateKey().orElseThrow(() -> new IllegalArgumentException(
                    "--tls-key-path: no private key in " + config.tlsKeyPath()))).privateKeyCertChain(keys.certChain()));
        }
        server = builder
                .host(config.host())
                .port(config.port())
                .connectionOptions(o -> o.tcpNoDelay(true))
                // the Host header is not used for routing; validating it costs ~2% of a proxied request
                .addProtocol(Http1Config.builder().validateRequestHostHeader(false)
                        .addReceiveListener(ctx.connections()).build())
                .directHandlers(RouterServer::directHandlers)
                .shutdownGracePeriod(Duration.ofSeconds(1))
                // RouterApp.shutdown drains first; Helidon's own hook would cut running streams at SIGTERM
                .shutdownHook(false)
                .routing(r -> routing(r, ctx))
                .putSocket(METRICS_SOCKET, s -> s
                        .host(config.prometheusHost())
                        .port(config.prometheusPort())
                        .routing(r -> r.get("/metrics", (req, res) -> {
                            res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                            res.send(ctx.metrics().scrape().getBytes(StandardCharsets.UTF_8));
                        })))
                .build();
    }

    private static void directHandlers(DirectHandlers.Builder b) {
        OpenAiDirectHandler handler = new OpenAiDirectHandler();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            b.addHandler(type, handler);
        }
    }

    /** The watcher of client connections that {@link RouterContext} carries; checks run on {@code scheduler}. */
    public static ClientConnections connections(java.util.concurrent.ScheduledExecutorService scheduler) {
        return new ClientConnections(scheduler);
    }

    /** The router's routes, for a server built elsewhere (tests). */
    public static void routing(HttpRouting.Builder routing, RouterContext ctx) {
        routing.addFilter(new CorsFilter(ctx.config().corsAllowedOrigins()));
        routing.register(new ProbeService(ctx))
                .register(new AdminService(ctx))
                .register(new OpenAiService(ctx));
    }

    public RouterServer start() {
        server.start();
        return this;
    }

    public int port() {
        return server.port();
    }

    public int metricsPort() {
        return server.port(METRICS_SOCKET);
    }

    public void stop() {
        server.stop();
    }
}
