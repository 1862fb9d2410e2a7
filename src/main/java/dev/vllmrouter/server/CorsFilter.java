package dev.vllmrouter.server;

import java.util.List;
import java.util.Set;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.OpenAiError;

/**
 * CORS, as vllm-router does it (reference §9.9). With no {@code --cors-allowed-origins}, any origin may call the
 * router with any method and header, and every response header is exposed. With a list, only those origins, methods
 * GET, POST and OPTIONS, request headers {@code Content-Type} and {@code Authorization}, and {@code x-request-id}
 * exposed. Preflights ({@code OPTIONS} with {@code Access-Control-Request-Method}) are answered here — never
 * forwarded to a worker, never asked for an API key — and cached by browsers for an hour. Requests without an
 * {@code Origin} header pass untouched.
 */
final class CorsFilter implements Filter {
    private static final HeaderName ALLOW_ORIGIN = HeaderNames.create("Access-Control-Allow-Origin");
    private static final HeaderName ALLOW_METHODS = HeaderNames.create("Access-Control-Allow-Methods");
    private static final HeaderName ALLOW_HEADERS = HeaderNames.create("Access-Control-Allow-Headers");
    private static final HeaderName EXPOSE_HEADERS = HeaderNames.create("Access-Control-Expose-Headers");
    private static final HeaderName MAX_AGE = HeaderNames.create("Access-Control-Max-Age");
    private static final HeaderName REQUEST_METHOD = HeaderNames.create("Access-Control-Request-Method");
    private static final HeaderName REQUEST_HEADERS = HeaderNames.create("Access-Control-Request-Headers");

    private final Set<String> origins;

    /** @param origins allowed origins; empty (or containing {@code *}) allows any */
    CorsFilter(List<String> origins) {
        this.origins = origins.contains("*") ? Set.of() : Set.copyOf(origins);
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        String origin = req.headers().first(HeaderNames.ORIGIN).orElse(null);
        if (origin == null) {
            chain.proceed();
            return;
        }
        boolean any = origins.isEmpty();
        boolean allowed = any || origins.contains(origin);
        boolean preflight = req.prologue().method() == Method.OPTIONS && req.headers().contains(REQUEST_METHOD);
        if (preflight) {
            if (!allowed) {
                res.status(Status.FORBIDDEN_403);
                res.header(HeaderNames.CONTENT_TYPE, "application/json");
                res.send(OpenAiError.of(ErrorKind.FORBIDDEN, "Origin " + origin + " is not allowed "
                        + "(--cors-allowed-origins)").toJsonBytes());
                return;
            }
            res.header(ALLOW_ORIGIN, any ? "*" : origin);
            if (!any) {
                res.header(HeaderNames.VARY, "Origin");
            }
            res.header(ALLOW_METHODS, any ? "*" : "GET, POST, OPTIONS");
            res.header(ALLOW_HEADERS, any ? req.headers().first(REQUEST_HEADERS).orElse("*")
                    : "Content-Type, Authorization");
            res.header(MAX_AGE, "3600");
            res.status(Status.NO_CONTENT_204);
            res.send();
            return;
        }
        if (allowed) {
            res.header(ALLOW_ORIGIN, any ? "*" : origin);
            res.header(EXPOSE_HEADERS, any ? "*" : "x-request-id");
            if (!any) {
                res.header(HeaderNames.VARY, "Origin");
            }
        }
        chain.proceed();
    }
}
