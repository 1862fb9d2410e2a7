package dev.vllmrouter.server;

import io.helidon.http.HeaderValues;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Closes the connection after every answer that says {@code Connection: close} (RFC 9112 §9.6): the client asked for
 * it ({@link RequestFraming} turns any {@code close} option into the form Helidon reacts to, and Helidon then answers
 * with {@code Connection: close}), or the router decided it (e.g. a 408 on a body that stalled: the rest of that body
 * may still come and must not be read as a request). Helidon 4.3.0 writes the header but keeps reading the
 * connection, so this filter commits the answer and ends the connection with {@link CloseConnectionException}, which
 * Helidon handles by closing the socket. Registered first, around every route.
 */
final class ConnectionCloseFilter implements Filter {
    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        chain.proceed();
        if (res.headers().contains(HeaderValues.CONNECTION_CLOSE)
                || req.headers().contains(HeaderValues.CONNECTION_CLOSE)) {
            res.commit();
            throw new CloseConnectionException("the answer said Connection: close");
        }
    }
}
