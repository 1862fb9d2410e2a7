package dev.vllmrouter.upstream;

import java.net.URI;
import java.util.Locale;

/**
 * Where a worker lives, parsed once from its base URL: scheme, host, port, the {@code Host} header value, and the
 * path prefix every request target is appended to ({@code http://h:8000/v} + {@code /v1/models}).
 */
record Origin(boolean tls, String host, int port, String hostHeader, String pathPrefix) {

    static Origin parse(String baseUrl) {
        URI uri = URI.create(baseUrl);
        String scheme = uri.getScheme() == null ? "http" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean tls = scheme.equals("https");
        if (!tls && !scheme.equals("http")) {
            throw new IllegalArgumentException("not an http(s) URL: " + baseUrl);
        }
        String host = uri.getHost();
        if (host == null) {
            throw new IllegalArgumentException("URL without host: " + baseUrl);
        }
        int port = uri.getPort() >= 0 ? uri.getPort() : (tls ? 443 : 80);
        boolean defaultPort = port == (tls ? 443 : 80);
        String hostHeader = defaultPort && uri.getPort() < 0 ? host : host + ":" + port;
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        String prefix = uri.getRawPath() == null ? "" : uri.getRawPath();
        while (prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        return new Origin(tls, host, port, hostHeader, prefix);
    }
}
