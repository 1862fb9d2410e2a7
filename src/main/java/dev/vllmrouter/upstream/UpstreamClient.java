package dev.vllmrouter.upstream;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import io.helidon.common.socket.SocketOptions;
import io.helidon.common.uri.UriInfo;
import io.helidon.common.uri.UriPath;
import io.helidon.http.ClientRequestHeaders;
import io.helidon.http.Method;
import io.helidon.webclient.api.ClientUri;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webclient.http1.Http1ClientRequest;

/**
 * The blocking HTTP/1.1 client to workers (Helidon WebClient), one per router, with keep-alive connection pooling.
 * A call blocks the request's virtual thread until the response head arrives; connect and per-read timeouts are set
 * here (Helidon's default read timeout of 30 s would cut long generations). No per-host connection limit exists in
 * the client; admission control bounds concurrency instead.
 */
public final class UpstreamClient implements AutoCloseable {
    private final Http1Client client;
    private final Duration readTimeout;
    private final ConcurrentHashMap<String, URI> bases = new ConcurrentHashMap<>();

    /**
     * @param connectTimeout TCP connect timeout
     * @param readTimeout    default longest silence on a read (response head or body)
     */
    public UpstreamClient(Duration connectTimeout, Duration readTimeout) {
        this.readTimeout = readTimeout;
        this.client = Http1Client.builder()
                .connectTimeout(connectTimeout)
                .readTimeout(readTimeout)
                .connectionCacheSize(1024)
                .shareConnectionCache(false)
                .keepAlive(true)
                .followRedirects(false)
                .sendExpectContinue(false)
                .socketOptions(SocketOptions.builder()
                        .connectTimeout(connectTimeout)
                        .readTimeout(readTimeout)
                        .tcpNoDelay(true)
                        .build())
                .build();
    }

    /**
     * Sends one request and returns once the response head is in.
     *
     * @param worker      the worker's id, for messages
     * @param baseUrl     the worker's base URL ({@code http(s)://host:port[/prefix]})
     * @param rawTarget   path and query exactly as they go on the request line (percent-encoding kept)
     * @param headers     writes the request headers
     * @param body        the body bytes, or {@code null} for none
     * @param readTimeout the read timeout of this call, or {@code null} for the default
     * @throws UpstreamException classified failure
     */
    public UpstreamResponse send(String worker, Method method, String baseUrl, String rawTarget,
                                 Consumer<ClientRequestHeaders> headers, byte[] body, Duration readTimeout) {
        try {
            Http1ClientRequest request = client.method(method)
                    .uri(target(baseUrl, rawTarget))
                    // with the target stored as an already-encoded "decoded" path, the client writes it verbatim
                    .skipUriEncoding(true)
                    .readTimeout(readTimeout == null ? this.readTimeout : readTimeout)
                    .headers(headers);
            return new UpstreamResponse(body == null ? request.request() : request.submit(body));
        } catch (RuntimeException e) {
            throw UpstreamException.classify(worker, e);
        }
    }

    /**
     * The request URI with the client's path and query byte for byte. Helidon's client otherwise decodes and
     * re-encodes them (turning {@code %2F} into {@code /}, regrouping query parameters and dropping valueless ones),
     * so the raw target is handed over as a path whose decoded and raw forms are the same string.
     */
    private ClientUri target(String baseUrl, String rawTarget) {
        URI base = bases.computeIfAbsent(baseUrl, URI::create);
        String prefix = base.getRawPath() == null ? "" : base.getRawPath();
        String host = base.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = base.getPort() >= 0 ? base.getPort() : ("https".equalsIgnoreCase(base.getScheme()) ? 443 : 80);
        return ClientUri.create(UriInfo.builder()
                .scheme(base.getScheme())
                .host(host)
                .port(port)
                .path(UriPath.createRelative(UriPath.root(), prefix + rawTarget))
                .build());
    }

    @Override
    public void close() {
        client.closeResource();
    }
}
