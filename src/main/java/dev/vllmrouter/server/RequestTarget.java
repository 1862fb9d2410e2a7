package dev.vllmrouter.server;

import java.net.URI;

/**
 * The path a request is forwarded with, normalised the way Helidon normalised it for routing, so that the worker
 * gets the route the router chose (RFC 9112 §3.2, RFC 3986 §5.2.4): Helidon routes on
 * {@code URI.create(rawPath).normalize().getPath()} (dot segments and repeated slashes removed, the path of an
 * absolute-form target), while the raw target went to the worker as it came — {@code /x/../v1/chat/completions} was
 * served as the chat route by the router and answered 404 by vLLM, which does not normalise. Forwarded here: the same
 * normalisation of the raw (still percent-encoded) path, which decodes to exactly the path that was routed. Pure.
 */
final class RequestTarget {
    private RequestTarget() {
    }

    /** The origin-form path to forward for {@code rawPath} (Helidon's raw path of the request target). */
    static String normalise(String rawPath) {
        if (rawPath.startsWith("/") && rawPath.indexOf("/.") < 0 && rawPath.indexOf("//") < 0) {
            return rawPath; // nearly every request
        }
        // as Helidon: a leading "//" would make the first segment an authority
        String p = rawPath.startsWith("//") ? rawPath.substring(1) : rawPath;
        try {
            URI uri = URI.create(p).normalize();
            String path = uri.getRawPath();
            if (path == null) {
                return rawPath; // opaque, e.g. "*"
            }
            return path.isEmpty() ? "/" : path;
        } catch (IllegalArgumentException e) {
            return rawPath; // Helidon validated it; nothing better to do
        }
    }
}
