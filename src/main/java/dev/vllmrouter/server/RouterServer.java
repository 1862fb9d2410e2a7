package dev.vllmrouter.server;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;

import dev.vllmrouter.config.ClientListenerConfig;

/**
 * The Helidon web server: the router's listener ({@code --host:--port}) with the probe, admin and OpenAI services —
 * in that order, the OpenAI service's fallback last — and a second listener for Prometheus
 * ({@code --prometheus-host:--prometheus-port}, path {@code /metrics}), so scraping never competes with traffic and
 * {@code /metrics} on the main port still reaches a worker as in vllm-router. The only class that builds Helidon's
 * server.
 */
public final class RouterServer {
    private static final String METRICS_SOCKET = "prometheus";
    private static final List<String> TLS_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    private final WebServer server;
    private final dev.vllmrouter.config.RouterConfig config;
    private final ClientConnections connections;

    public RouterServer(RouterContext ctx) {
        this.config = ctx.config();
        this.connections = ctx.connections();
        var builder = WebServer.builder();
        if (config.tlsCertPath() != null) {
            // HTTPS on the main listener only; the Prometheus listener stays plain (scraped in-cluster)
            ServerTls.Material tlsFiles = tlsMaterial(config);
            builder.tls(tls -> tls.privateKey(tlsFiles.key()).privateKeyCertChain(tlsFiles.chain())
                    .enabledProtocols(TLS_PROTOCOLS)
                    .enabledCipherSuites(config.clientListener().tlsCipherSuites()));
        }
        // the Host header is not used for routing; validating it costs ~2% of a proxied request
        Http1Config http1 = Http1Config.builder().validateRequestHostHeader(false)
                .addReceiveListener(ctx.connections()).build();
        server = builder
                .host(config.host())
                .port(config.port())
                .connectionOptions(o -> o.tcpNoDelay(true))
                .addProtocol(http1)
                // every HTTP/1 connection (and HTTP/1.0 requests, answered 505) through the router's reader/writer
                .addConnectionSelector(new ClientProtocol(http1, ctx.connections()))
                .directHandlers(RouterServer::directHandlers)
                // the messages of refused requests (framing, versions) reach the client in the JSON error
                .errorHandling(e -> e.includeEntity(true))
                .shutdownGracePeriod(Duration.ofSeconds(1))
                // RouterApp.shutdown drains first; Helidon's own hook would cut running streams at SIGTERM
                .shutdownHook(false)
                .routing(r -> routing(r, ctx))
                .putSocket(METRICS_SOCKET, s -> s
                        .host(config.prometheusHost())
                        .port(config.prometheusPort())
                        // any path, as vllm-router's exporter: a scrape config written for it keeps working
                        .routing(r -> r.get((req, res) -> {
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

    /**
     * The watcher of client connections that {@link RouterContext} carries; checks run on {@code scheduler}.
     * Its limits: {@code --client-write-timeout-secs} and the {@link ClientListenerConfig}.
     */
    public static ClientConnections connections(java.util.concurrent.ScheduledExecutorService scheduler,
                                                dev.vllmrouter.config.RouterConfig config) {
        return new ClientConnections(scheduler, config.clientWriteTimeout(), config.clientListener());
    }

    /**
     * Reads and checks the HTTPS files and cipher suites, when {@code --tls-cert-path} is set.
     *
     * @throws dev.vllmrouter.config.ConfigException naming the flag and file at fault
     */
    public static void checkTls(dev.vllmrouter.config.RouterConfig config) {
        tlsMaterial(config);
    }

    private static ServerTls.Material tlsMaterial(dev.vllmrouter.config.RouterConfig config) {
        if (config.tlsCertPath() == null) {
            return null;
        }
        ServerTls.checkSuites(config.clientListener().tlsCipherSuites());
        return ServerTls.load(config.tlsCertPath(), config.tlsKeyPath());
    }

    /** The router's routes, for a server built elsewhere (tests). */
    public static void routing(HttpRouting.Builder routing, RouterContext ctx) {
        // first, around everything: once a request is answered, its connection waits for the next under the idle limit
        routing.addFilter((chain, req, res) -> {
            try {
                chain.proceed();
            } finally {
                ctx.connections().requestDone();
            }
        });
        routing.addFilter(new ConnectionCloseFilter());
        routing.addFilter(new CorsFilter(ctx.config().corsAllowedOrigins()));
        routing.register(new ProbeService(ctx))
                .register(new AdminService(ctx))
                .register(new OpenAiService(ctx));
    }

    /**
     * Starts both listeners.
     *
     * @throws IllegalStateException naming the listener (and flag) that could not bind, after stopping the other:
     *                               Helidon logs the failure and returns a server that listens nowhere (port -1)
     */
    public RouterServer start() {
        server.start();
        if (server.isRunning() && server.port() > 0 && server.port(METRICS_SOCKET) > 0) {
            // accept loops that outlive EMFILE; the client listener's with its connection cap
            GuardedServerSocket.install(server, WebServer.DEFAULT_SOCKET_NAME, connections.sockets());
            GuardedServerSocket.install(server, METRICS_SOCKET, null);
            ClientListenerConfig limits = config.clientListener();
            System.getLogger(RouterServer.class.getName()).log(System.Logger.Level.INFO, "client connections: at "
                    + "most {0} open (--max-client-connections), request head within {1} s, idle keep-alive {2} s",
                    String.valueOf(limits.maxConnections()), limits.headerTimeout().toSeconds(),
                    limits.idleTimeout().toSeconds());
            return this;
        }
        server.stop();
        String problem = bindProblem("--host/--port", config.host(), config.port());
        if (problem == null) {
            problem = bindProblem("--prometheus-host/--prometheus-port", config.prometheusHost(),
                    config.prometheusPort());
        }
        throw new IllegalStateException(problem != null ? problem
                : "the HTTP listeners did not start (see the log above)");
    }

    /**
     * Fails fast, before the start-up wait for workers (up to {@code --worker-startup-timeout-secs}), when a
     * listener's address cannot be bound, e.g. a port another process holds.
     *
     * @throws IllegalStateException naming the listener and its flag
     */
    public static void checkAddresses(dev.vllmrouter.config.RouterConfig config) {
        for (String problem : new String[] {
                bindProblem("--host/--port", config.host(), config.port()),
                bindProblem("--prometheus-host/--prometheus-port", config.prometheusHost(), config.prometheusPort())}) {
            if (problem != null) {
                throw new IllegalStateException(problem);
            }
        }
    }

    /** Why {@code host:port} cannot be bound now, or {@code null} if it can (port 0 always can). */
    static String bindProblem(String flags, String host, int port) {
        if (port == 0) {
            return null;
        }
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new java.net.InetSocketAddress(host, port));
            return null;
        } catch (java.io.IOException | RuntimeException e) {
            return "cannot listen on " + host + ":" + port + " (" + flags + "): " + e.getMessage();
        }
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
